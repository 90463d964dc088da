/** The text of src/schema.ts for an OpenAPI document (openapi-typescript). */
export function schemaSource(document: unknown): Promise<string>;
