/* Test tiers (STYLE.md): unit = *.spec.ts (no I/O), medium = *.integration-spec.ts (real Postgres/NATS),
   e2e = *.e2e-spec.ts (services as real processes). */
// ts-jest without type-checking (isolatedModules): fast, and keeps decorator metadata for Nest DI.
// Type-checking of tests is a separate CI step (tsc -p tsconfig.spec.json).
const tsJest = [
  'ts-jest',
  { isolatedModules: true, tsconfig: '<rootDir>/tsconfig.spec.json', diagnostics: false },
];
// ES-module-only dependencies (pkijs and its imports) are compiled to CommonJS for jest; Node itself loads
// them with require() at run time.
const esmOnly = ['pkijs', 'asn1js', 'bytestreamjs', '@peculiar/utils', '@noble/hashes'];
const esmJest = [
  'ts-jest',
  { isolatedModules: true, tsconfig: '<rootDir>/tsconfig.esm-deps.json', diagnostics: false },
];
const moduleNameMapper = {
  '^@lienthong/(common|contracts|testing|client)$': '<rootDir>/libs/$1/src/index.ts',
};
const base = {
  rootDir: __dirname,
  transform: {
    '^.+\\.ts$': tsJest,
    [`/node_modules/(${esmOnly.join('|')})/.+\\.m?js$`]: esmJest,
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper,
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/libs/testing/src/jest-setup.ts'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};
module.exports = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,services,test}/**/*.spec.ts'] },
    {
      ...base,
      displayName: 'medium',
      testMatch: ['<rootDir>/{libs,services,test}/**/*.integration-spec.ts'],
      slowTestThreshold: 30,
    },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/{libs,services,test}/**/*.e2e-spec.ts'] },
  ],
};
