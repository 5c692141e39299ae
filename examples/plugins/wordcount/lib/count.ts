/** How many words a text has, how many distinct ones, and the most frequent. */
export type WordCounts = { words: number; distinct: number; top: Array<[word: string, count: number]> };

/** Count the words of `text` (letters and digits, case-folded). */
export function countWords(text: string, top: number): WordCounts {
  const counts = new Map<string, number>();
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}']+/gu) ?? []) counts.set(word, (counts.get(word) ?? 0) + 1);
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return { words: [...counts.values()].reduce((a, b) => a + b, 0), distinct: counts.size, top: sorted.slice(0, Math.max(0, top)) };
}
