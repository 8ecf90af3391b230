import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { UserError } from "../src/errors.ts";
import { pathExists } from "../src/files.ts";
import { readTrajectoriesIfAny, succeeded, TrajectoryWriter, type Trajectory } from "../trajectories/index.ts";
import { HashingEmbedder, type Embedder } from "./embedder.ts";
import { HnswIndex, IndexFileError, type SavedDocument } from "./hnsw.ts";
import type { VectorIndex } from "./vector-index.ts";

/**
 * What the memory keeps of one trajectory, compact, for recall to show: what was
 * asked, how it went, and the path taken. The whole `Trajectory` is kept beside it.
 */
export interface MemoryRecord {
  /** Unique per run of a task: `taskId@startedAt`. */
  id: string;
  taskId: string;
  question: string;
  outcome: "success" | "failure";
  reward: number;
  answer: string | null;
  /** The actions in order: `Search[X] -> Search[Y] -> Finish[Z]`. */
  path: string;
  /** Each step's thought, cut short. */
  thoughts: string[];
}

export interface Recollection {
  /** The memory's record of the episode. */
  episode: MemoryRecord;
  /** The whole trajectory, for rendering it as an exemplar. */
  trajectory: Trajectory;
  /** Similarity of its question to the query, in [-1, 1]. */
  score: number;
}

export interface RecallOptions {
  /** Only episodes that earned a reward. */
  successOnly?: boolean;
  /** Episodes to leave out, e.g. those of the question being asked. */
  exclude?: (episode: MemoryRecord) => boolean;
}

export interface MemoryOptions {
  /** Default `HashingEmbedder` (local, deterministic). */
  embedder?: Embedder;
  /**
   * Where vectors live; default an `HnswIndex` saved in the memory's folder.
   * Another index (a LangChain store) keeps itself: on open, the memory adds
   * the episodes it lacks.
   */
  index?: VectorIndex;
}

const THOUGHT_CHARS = 80;
const TRAJECTORIES_FILE = "trajectories.jsonl";
const INDEX_DIR = "index";

/**
 * Episodic memory: past trajectories, found again by the similarity of their
 * questions. A folder holds `trajectories.jsonl` (the episodes, appended
 * durably as they are remembered: the source of truth) and `index/` (the
 * vectors, saved by `save()`). What the index lacks after a crash is embedded
 * again on open, so nothing remembered is lost.
 */
export class EpisodicMemory {
  private readonly episodes = new Map<string, { episode: MemoryRecord; trajectory: Trajectory }>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly dir: string,
    private readonly embedder: Embedder,
    private readonly index: VectorIndex,
    private readonly writer: TrajectoryWriter,
  ) {}

  static async open(dir: string, options: MemoryOptions = {}): Promise<EpisodicMemory> {
    // A run's log is no memory: adopting it would add index/, and bench would refuse to resume the run
    if (await pathExists(join(dir, "summary.json"))) throw new UserError(`${dir} is a run's output folder (it holds summary.json), not a memory: give the memory a folder of its own`);
    const embedder = options.embedder ?? new HashingEmbedder();
    const index = options.index ?? (await loadIndex(dir, embedderName(embedder)));
    const { trajectories } = await readTrajectoriesIfAny(join(dir, TRAJECTORIES_FILE));
    const memory = new EpisodicMemory(dir, embedder, index, await openWriter(dir));
    for (const trajectory of trajectories) {
      const episode = toMemoryRecord(trajectory);
      memory.episodes.set(episode.id, { episode, trajectory });
    }
    await memory.indexMissing([...memory.episodes.values()].map((e) => e.episode));
    return memory;
  }

  get size(): number {
    return this.episodes.size;
  }

  /** Adds trajectories not remembered yet (same task, sample and start time: the same episode); returns how many were new. */
  remember(trajectories: readonly Trajectory[]): Promise<number> {
    const done = this.queue.then(async () => {
      const fresh = new Map<string, Trajectory>();
      for (const trajectory of trajectories) {
        const id = episodeId(trajectory);
        if (!this.episodes.has(id)) fresh.set(id, trajectory);
      }
      for (const trajectory of fresh.values()) await this.writer.append(trajectory);
      const episodes = [...fresh.values()].map((trajectory) => {
        const episode = toMemoryRecord(trajectory);
        this.episodes.set(episode.id, { episode, trajectory });
        return episode;
      });
      await this.indexMissing(episodes);
      return episodes.length;
    });
    this.queue = done.catch(() => undefined);
    return done;
  }

  /**
   * The `k` past episodes whose questions are most like `query`, best first,
   * at most one per task (its best match), so k similar runs of one question
   * do not crowd out the rest.
   */
  async recall(query: string, k = 3, options: RecallOptions = {}): Promise<Recollection[]> {
    await this.queue;
    const vector = await this.embedder.embedQuery(query);
    const accept = (id: string) => {
      const found = this.episodes.get(id);
      return !!found && (!options.successOnly || found.episode.outcome === "success") && !options.exclude?.(found.episode);
    };
    const recalled: Recollection[] = [];
    const tasks = new Set<string>();
    // Runs of the same task can fill the first hits, so ask for more until k tasks are found or all is seen.
    for (let wanted = k * 4; recalled.length < k; wanted *= 4) {
      recalled.length = 0;
      tasks.clear();
      const hits = await this.index.search(vector, wanted, accept);
      for (const hit of hits) {
        const { episode, trajectory } = this.episodes.get(hit.id)!;
        if (tasks.has(episode.taskId)) continue;
        tasks.add(episode.taskId);
        recalled.push({ episode, trajectory, score: hit.score });
        if (recalled.length === k) break;
      }
      if (hits.length < wanted) break;
    }
    return recalled;
  }

  /**
   * Saves the index (the episodes themselves are on disk as soon as they are
   * remembered). LangChain's HNSWLib.load reads the saved index as documents:
   * each episode's question, with its id, task, outcome, reward and answer.
   */
  async save(): Promise<void> {
    await this.queue;
    if (!(this.index instanceof HnswIndex)) return;
    const document = (id: string) => {
      const found = this.episodes.get(id);
      return found && episodeDocument(found.episode);
    };
    await this.index.save(join(this.dir, INDEX_DIR), document);
  }

  private async indexMissing(episodes: readonly MemoryRecord[]): Promise<void> {
    const missing = episodes.filter((episode) => !this.index.has(episode.id));
    if (missing.length === 0) return;
    const vectors = await this.embedder.embedDocuments(missing.map((episode) => episode.question));
    await this.index.add(
      missing.map((episode) => episode.id),
      vectors,
    );
  }
}

/** The compact record of a trajectory that recall shows. */
function toMemoryRecord(trajectory: Trajectory): MemoryRecord {
  return {
    id: episodeId(trajectory),
    taskId: trajectory.id,
    question: trajectory.question,
    outcome: succeeded(trajectory) ? "success" : "failure",
    reward: trajectory.reward,
    answer: trajectory.answer,
    path: trajectory.steps.map((step) => step.action || "(no action)").join(" -> "),
    thoughts: trajectory.steps.map((step) => shorten(step.thought, THOUGHT_CHARS)),
  };
}

function episodeDocument({ id, taskId, question, outcome, reward, answer }: MemoryRecord): SavedDocument {
  return { pageContent: question, metadata: { id, taskId, outcome, reward, answer } };
}

/**
 * An episode's key: its question, its sample (two samples can start in the same millisecond),
 * and its start time. Sample 0 keeps the key older memories were saved with.
 */
function episodeId(trajectory: Trajectory): string {
  const question = trajectory.sample ? `${trajectory.id}#${trajectory.sample}` : trajectory.id;
  return `${question}@${trajectory.meta.startedAt}`;
}

function shorten(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/** Names an embedder and its settings, so an index is only reused with vectors of the same kind. */
function embedderName(embedder: Embedder): string {
  if (embedder instanceof HashingEmbedder) return embedder.name;
  const { model, dimensions } = embedder as { model?: unknown; dimensions?: unknown };
  return [embedder.constructor.name, model, dimensions].filter((part) => part !== undefined).join(":");
}

/**
 * The saved index when the same embedder made it. Otherwise, or when it cannot
 * be read, a new one: the episodes are the source of truth and fill it on open.
 */
async function loadIndex(dir: string, source: string): Promise<HnswIndex> {
  const saved = await HnswIndex.load(join(dir, INDEX_DIR)).catch((error: unknown) => {
    if (error instanceof IndexFileError) return undefined;
    throw error;
  });
  return saved?.source === source ? saved : new HnswIndex({ source });
}

async function openWriter(dir: string): Promise<TrajectoryWriter> {
  await mkdir(dir, { recursive: true });
  return TrajectoryWriter.open(join(dir, TRAJECTORIES_FILE));
}
