// class-transformer keeps its @Type() metadata in this module and ships no types for the path.
declare module 'class-transformer/cjs/storage' {
  export const defaultMetadataStorage: {
    findTypeMetadata(target: unknown, propertyName: string): { typeFunction(): unknown } | undefined;
  };
}
