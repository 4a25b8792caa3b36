/* Test tiers (STYLE.md): unit = *.spec.ts (no I/O), medium = *.integration-spec.ts (real Postgres/NATS),
   e2e = *.e2e-spec.ts (services as real processes). */
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
      keepClassNames: true,
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];
const moduleNameMapper = {
  '^@lienthong/(common|contracts|testing)$': '<rootDir>/libs/$1/src/index.ts',
};
// ES-module-only dependencies (pkijs and its imports) are compiled to CommonJS for jest; Node itself loads
// them with require() at run time.
const esmOnly = ['pkijs', 'asn1js', 'bytestreamjs', '@peculiar/utils', '@noble/hashes'];
const base = {
  rootDir: __dirname,
  transform: {
    '^.+\\.ts$': swc,
    [`/node_modules/(${esmOnly.join('|')})/.+\\.js$`]: swc,
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper,
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/libs/testing/src/jest-setup.ts'],
  modulePathIgnorePatterns: ['<rootDir>/.*/dist/'],
};
module.exports = {
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/{libs,services,test}/**/*.spec.ts'] },
    { ...base, displayName: 'medium', testMatch: ['<rootDir>/{libs,services,test}/**/*.integration-spec.ts'], slowTestThreshold: 30 },
    { ...base, displayName: 'e2e', testMatch: ['<rootDir>/{libs,services,test}/**/*.e2e-spec.ts'] },
  ],
};
