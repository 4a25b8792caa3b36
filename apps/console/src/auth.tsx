import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, hasSession, logout as apiLogout, onAuthChange } from './api/client';

export interface Me {
  sub: string;
  username?: string;
  organizationCode: string;
  roles: string[];
  type: string;
}

interface Auth {
  signedIn: boolean;
  me?: Me;
  loading: boolean;
  has: (...roles: string[]) => boolean;
  logout: () => Promise<void>;
}

const Ctx = createContext<Auth>({
  signedIn: false,
  loading: false,
  has: () => false,
  logout: async () => undefined,
});

export function AuthProvider({ children }: { children: ReactNode }) {
  const [signedIn, setSignedIn] = useState(hasSession());
  const qc = useQueryClient();
  useEffect(
    () =>
      onAuthChange((v) => {
        setSignedIn(v);
        if (!v) qc.clear();
      }),
    [qc],
  );
  const me = useQuery({
    queryKey: ['me', signedIn],
    queryFn: () => api.get<Me>('/api/v1/auth/me'),
    enabled: signedIn,
    staleTime: Infinity,
    retry: false,
  });
  const roles = me.data?.roles ?? [];
  const value: Auth = {
    signedIn,
    me: me.data,
    loading: signedIn && me.isLoading,
    // system-admin may open every page.
    has: (...r) => roles.includes('system-admin') || r.some((x) => roles.includes(x)),
    logout: apiLogout,
  };
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export const useAuth = () => useContext(Ctx);
