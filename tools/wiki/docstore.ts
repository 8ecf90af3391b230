import { Bm25Index } from "./bm25.ts";
import type { Paragraph, QaTask } from "./task.ts";

/** One page of the offline wiki; sentences exactly as the dataset gives them. */
export interface WikiPage {
  title: string;
  sentences: readonly string[];
}

/** How often a title is repeated in its indexed text, so a title hit outweighs a passing mention. */
const TITLE_WEIGHT = 3;

/** Exact-match key: case- and whitespace-insensitive. */
export function titleKey(title: string): string {
  return title.toLowerCase().replace(/\s+/g, " ").trim();
}

/** A local stand-in for Wikipedia: pages by title, and BM25 for titles similar to a query. */
export class Docstore {
  private readonly pages: WikiPage[] = [];
  private readonly byKey = new Map<string, WikiPage>();
  private readonly index: Bm25Index;

  /**
   * Paragraphs with a title already seen (compared by `titleKey`) are dropped:
   * the first wins. So are untitled ones, which no Search could name.
   */
  constructor(paragraphs: Iterable<Paragraph>) {
    for (const [title, sentences] of paragraphs) {
      const key = titleKey(title);
      if (key === "" || this.byKey.has(key)) continue;
      const page = { title, sentences };
      this.pages.push(page);
      this.byKey.set(key, page);
    }
    this.index = new Bm25Index(this.pages.map(indexedText));
  }

  /** Every context paragraph of every task. */
  static fromTasks(tasks: readonly QaTask[]): Docstore {
    return new Docstore(tasks.flatMap((task) => task.context));
  }

  get size(): number {
    return this.pages.length;
  }

  get(title: string): WikiPage | undefined {
    return this.byKey.get(titleKey(title));
  }

  /** Titles of the `k` pages that best match `query` by BM25, best first. */
  similar(query: string, k = 5): string[] {
    return this.index.search(query, k).map((hit) => this.pages[hit.index]!.title);
  }
}

function indexedText(page: WikiPage): string {
  return `${`${page.title} `.repeat(TITLE_WEIGHT)}${page.sentences.join(" ")}`;
}
