/** The id of a secret's documents: realm and key ids cannot contain ':' so this is unambiguous. */
export function secretDocId(realm: string, key: string): string {
  return `${realm}:${key}`;
}
