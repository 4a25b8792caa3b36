/** Frequently used and leaked passwords (lower-case); a password equal to one of these, ignoring case, is refused. */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  '123456789012', '1234567890123', '12345678901234', '123456789123', '111111111111', '000000000000',
  '123123123123', '121212121212', '112233445566', 'qwertyuiopas', 'qwertyuiop123', 'qwerty123456',
  '1q2w3e4r5t6y', '1qaz2wsx3edc', 'zaq12wsxcde3', 'asdfghjkl123', 'password1234', 'password12345',
  'password123!', 'passw0rd1234', 'p@ssw0rd1234', 'p@ssword1234', 'iloveyou1234', 'welcome12345',
  'welcome@1234', 'administrator', 'admin1234567', 'admin@123456', 'adminadmin12', 'letmein12345',
  'changeme1234', 'trustno11234', 'football1234', 'baseball1234', 'superman1234', 'sunshine1234',
  'princess1234', 'dragon123456', 'monkey123456', 'abcdefghijkl', 'abc123456789', 'abcd12345678',
  'aaaaaaaaaaaa', 'matkhau12345', 'matkhau@123456', '1234567890qwerty', 'qwertyuiopasdfgh',
  'vietnam12345', 'vietnam@1234', 'hanoi1234567', 'saigon123456', 'anhyeuem1234', 'passwordpassword',
  'correcthorsebatterystaple', 'thisismypassword', 'myp@ssword123', 'qazwsxedcrfv', '1qazxsw23edc',
]);
