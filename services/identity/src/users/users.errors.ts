import { conflict, forbidden, notFound, unauthorized } from '@lienthong/common';

export const UserErrors = {
  notFound: () => notFound('USER_NOT_FOUND', 'User not found'),
  exists: (username: string) => conflict('USER_EXISTS', `User ${username} already exists`),
  roleEscalation: (roles: string[]) =>
    forbidden('ROLE_ESCALATION', `You cannot grant roles you do not hold: ${roles.join(', ')}`),
  wrongPassword: () => unauthorized('WRONG_PASSWORD', 'The current password is not correct'),
  totpNotEnrolled: () => conflict('TOTP_NOT_ENROLLED', 'Start TOTP enrolment first'),
  totpInvalid: () => unauthorized('OTP_INVALID', 'The one-time password is not correct'),
};
