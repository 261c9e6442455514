// Types of scripts/options-tsdoc.mjs for the TypeScript tests that import it.
export interface OptionMemberDoc {
  name: string;
  optional: boolean;
  type: string;
  text: string;
  defaultValue: string | undefined;
  examples: string[];
}
export interface OptionInterfaceDoc {
  name: string;
  file: string;
  text: string;
  defaultValue: string | undefined;
  examples: string[];
  members: OptionMemberDoc[];
}
export const SOURCES: string[];
export function collectOptionDocs(root: string): {
  interfaces: Map<string, OptionInterfaceDoc>;
  aliases: Map<string, { name: string; file: string; type: string; text: string }>;
};
export function splitDefaultValue(value: string): { head: string; note: string; looksLikeCode: boolean };
