export const ROLES = [
  'system-admin',
  'org-admin',
  'clerk',
  'leader',
  'specialist',
  'auditor',
  'operator',
  'cleared',
  'exchange',
];
