/**
 * Passwords seen most often in breach corpora (and Vietnamese favourites); refused regardless of length.
 * Compared case-insensitively.
 */
export const COMMON_PASSWORDS = new Set(
  [
    '123456789012', '1234567890123', '12345678901234', '123123123123', '111111111111', '000000000000',
    'password1234', 'password12345', 'password123!', 'passw0rd1234', 'qwertyuiop12', 'qwertyuiop123',
    'qwerty123456', '1q2w3e4r5t6y', '1qaz2wsx3edc', 'zaq12wsxcde3', 'abc123456789', 'abcdefghijkl',
    'iloveyou1234', 'welcome12345', 'admin1234567', 'administrator', 'letmein12345', 'trustno11234',
    'changeme1234', 'football1234', 'baseball1234', 'superman1234', 'princess1234', 'sunshine1234',
    'matkhau12345', 'matkhau123456', 'matkhaumoi123', 'anhyeuem1234', 'anhyeuem123456', 'emyeuanh1234',
    'vietnam12345', 'vietnam123456', 'hanoi1234567', 'saigon123456', 'dangcongsan1', 'dangcongsan123',
    'password', '123456', '12345678', 'qwerty', 'abc123', 'monkey', 'dragon', 'master', 'shadow',
  ].map((p) => p.toLowerCase()),
);
