/** Commander parser for a repeatable option: `--tag a --tag b` → ['a', 'b']. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];
