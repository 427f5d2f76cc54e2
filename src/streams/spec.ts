/**
 * The Kafka Streams part of an app spec (`"type": "streams"`): what the operator gives, how it is checked, and
 * what it adds to each instance's task (command, environment, the "state" port, the state volume).
 *
 * Everything here is pure. What is only known at launch (the managed cluster's brokers, the artifact server's
 * address) is filled in by the render hook (./render.ts), so a broker moving never counts as a spec change.
 */
import { STATE_PORT } from './state-probe.js';

export const STREAMS_KIND = 'streams';
/** Task label naming a served artifact: the render hook turns it into a fetcher URI on kmf's artifact server. */
export const ARTIFACT_LABEL = 'kmf_streams_artifact';
/** Task label: `managed` when the render hook must inject the managed cluster's bootstrap servers. */
export const BOOTSTRAP_LABEL = 'kmf_streams_bootstrap';
/** Where the state directory lives, relative to the sandbox (the persistent volume's mount with `stateVolume`). */
export const STATE_DIR_PATH = 'streams-state';
/** Default consumer session timeout of instances: see docs/streams.md ("Static membership"). */
export const DEFAULT_SESSION_TIMEOUT_MS = '15000';
/** The rest of the JVM (metaspace, threads, RocksDB off-heap) needs room next to the heap. */
export const MIN_NON_HEAP_MB = 128;
export const MAX_STREAMS_INSTANCES = 1_000;

/** Streams settings kmf owns: an instance's identity and where its state lives. */
export const MANAGED_STREAMS_KEYS = ['application.id', 'group.instance.id', 'state.dir'] as const;

const APPLICATION_ID = /^[A-Za-z0-9._-]{1,200}$/;
const MAIN_CLASS = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;
/** A served artifact's file name: no path, no scheme. */
export const ARTIFACT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

export interface StreamsAutoscale {
  min: number;
  max: number;
  /** Instances wanted = ceil(total lag / targetLagPerInstance). */
  targetLagPerInstance: number;
  /** Scale down only after the lag has stayed low this long, and this long after the last change. */
  cooldownSeconds: number;
  inputTopics: string[];
}

/** The normalized Streams fields of an AppSpec (type "streams"). */
export interface StreamsFields {
  applicationId: string;
  /** A served artifact name or an http(s) URL; absent when the app gives a `command`. */
  artifact?: string;
  mainClass?: string;
  args?: string[];
  /** JVM heap, MB (default: half of mem). */
  heap?: number;
  jvmOpts?: string;
  streamsConfig?: Record<string, string>;
  /** MB: state.dir on a persistent volume. */
  stateVolume?: number;
  autoscale?: StreamsAutoscale;
}

export const STREAMS_FIELDS = ['type', 'applicationId', 'artifact', 'mainClass', 'args', 'heap', 'jvmOpts', 'streamsConfig', 'stateVolume', 'autoscale'] as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isArtifactUrl(artifact: string): boolean {
  return /^https?:\/\/[^\s/]+\/\S*$/.test(artifact);
}

/** The file the fetcher writes into the sandbox: the last segment of the URL's path. */
export function artifactFileName(artifact: string): string {
  if (!isArtifactUrl(artifact)) return artifact;
  const pathname = new URL(artifact).pathname;
  const last = decodeURIComponent(pathname.slice(pathname.lastIndexOf('/') + 1));
  return last === '' ? 'app.jar' : last;
}

function positiveInt(label: string, v: unknown, issues: string[], min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    issues.push(`${label} must be an integer`);
    return undefined;
  }
  if (v < min || v > max) {
    issues.push(`${label} must be from ${min} to ${max}`);
    return undefined;
  }
  return v;
}

function parseAutoscale(v: unknown, issues: string[]): StreamsAutoscale | undefined {
  if (v === undefined) return undefined;
  if (!isObject(v)) {
    issues.push('autoscale must be an object {"min", "max", "targetLagPerInstance", "cooldownSeconds", "inputTopics"}');
    return undefined;
  }
  const known = new Set(['min', 'max', 'targetLagPerInstance', 'cooldownSeconds', 'inputTopics']);
  for (const k of Object.keys(v)) if (!known.has(k)) issues.push(`autoscale: unknown field "${k}"`);
  const min = positiveInt('autoscale.min', v['min'] ?? 1, issues, 0, MAX_STREAMS_INSTANCES);
  const max = positiveInt('autoscale.max', v['max'], issues, 1, MAX_STREAMS_INSTANCES);
  const target = positiveInt('autoscale.targetLagPerInstance', v['targetLagPerInstance'], issues, 1);
  const cooldown = v['cooldownSeconds'] ?? 300;
  if (typeof cooldown !== 'number' || !Number.isFinite(cooldown) || cooldown < 0) issues.push('autoscale.cooldownSeconds must be a number >= 0');
  const topics = v['inputTopics'];
  if (!Array.isArray(topics) || topics.length === 0) issues.push('autoscale.inputTopics must list the input topics whose lag sizes the app');
  else for (const t of topics) if (typeof t !== 'string' || !TOPIC.test(t)) issues.push(`autoscale.inputTopics: ${JSON.stringify(t)} is not a topic name`);
  if (min !== undefined && max !== undefined && min > max) issues.push(`autoscale.min (${min}) must be <= autoscale.max (${max})`);
  if (min === undefined || max === undefined || target === undefined || typeof cooldown !== 'number' || !Array.isArray(topics) || issues.length > 0) return undefined;
  return { min, max, targetLagPerInstance: target, cooldownSeconds: cooldown, inputTopics: [...new Set(topics as string[])] };
}

/**
 * Checks the Streams fields of an app given as JSON (`input.type === "streams"`), pushing every problem to
 * `issues`. `mem` and `instances` are the app's (already checked) values, `hasCommand` whether it gives a command.
 */
export function parseStreamsFields(
  input: Readonly<Record<string, unknown>>,
  app: { name: unknown; mem: number | undefined; instances: number | undefined; hasCommand: boolean; role: string },
  issues: string[],
): StreamsFields | undefined {
  const before = issues.length;
  const appId = input['applicationId'] ?? app.name;
  if (typeof appId !== 'string' || !APPLICATION_ID.test(appId)) issues.push('applicationId must be 1 to 200 letters, digits, ".", "_" or "-"');
  const artifact = input['artifact'];
  if (artifact === undefined && !app.hasCommand) issues.push('a streams app needs an "artifact" (a jar kmf serves, e.g. "wordcount-1.0.jar", or an http(s) URL) or a "command"');
  if (artifact !== undefined && app.hasCommand) issues.push('give either "artifact" or "command", not both');
  if (artifact !== undefined && (typeof artifact !== 'string' || !(ARTIFACT_NAME.test(artifact) || isArtifactUrl(artifact)))) {
    issues.push('artifact must be the file name of an artifact kmf serves (GET /artifacts/<name>) or an http(s) URL');
  }
  const mainClass = input['mainClass'];
  if (mainClass !== undefined && (typeof mainClass !== 'string' || !MAIN_CLASS.test(mainClass))) issues.push('mainClass must be a Java class name, e.g. io.kmf.examples.WordCount');
  const args = input['args'];
  if (args !== undefined && (!Array.isArray(args) || !args.every((a) => typeof a === 'string'))) issues.push('args must be a list of strings');
  if ((mainClass !== undefined || args !== undefined || input['heap'] !== undefined || input['jvmOpts'] !== undefined) && artifact === undefined) {
    issues.push('mainClass, args, heap and jvmOpts go with an "artifact" (with a "command", put them in the command)');
  }
  let heap: number | undefined;
  if (input['heap'] !== undefined) {
    heap = positiveInt('heap', input['heap'], issues, 16);
    if (heap !== undefined && app.mem !== undefined && heap + MIN_NON_HEAP_MB > app.mem) {
      issues.push(`heap (${heap} MB) must leave at least ${MIN_NON_HEAP_MB} MB of mem (${app.mem} MB) for the rest of the JVM`);
    }
  }
  const jvmOpts = input['jvmOpts'];
  if (jvmOpts !== undefined && (typeof jvmOpts !== 'string' || /[\n\r]/.test(jvmOpts))) issues.push('jvmOpts must be a string of JVM flags on one line');
  let streamsConfig: Record<string, string> | undefined;
  const sc = input['streamsConfig'];
  if (sc !== undefined) {
    if (!isObject(sc)) issues.push('streamsConfig must be an object of strings, e.g. {"commit.interval.ms": "100"}');
    else {
      streamsConfig = {};
      for (const [k, v] of Object.entries(sc)) {
        if (typeof v !== 'string') issues.push(`streamsConfig["${k}"] must be a string`);
        else if ((MANAGED_STREAMS_KEYS as readonly string[]).includes(k)) issues.push(`streamsConfig["${k}"] is set by kmf (${k === 'application.id' ? 'use "applicationId"' : k === 'state.dir' ? 'use "stateVolume"' : 'it is <applicationId>-<index>'})`);
        else if (k === '' || /[\n\r]/.test(k) || /[\n\r]/.test(v)) issues.push(`streamsConfig["${k}"]: keys and values are single lines`);
        else streamsConfig[k] = v;
      }
    }
  }
  let stateVolume: number | undefined;
  if (input['stateVolume'] !== undefined) {
    stateVolume = positiveInt('stateVolume', input['stateVolume'], issues, 1);
    if (app.role === '*') issues.push('stateVolume needs a Mesos role other than "*" (its reservation is made for that role): set "role" or start kmf scheduler with --role');
  }
  if (input['volume'] !== undefined) issues.push('a streams app keeps its state on "stateVolume" (MB), not "volume"');
  const autoscale = parseAutoscale(input['autoscale'], issues);
  if (autoscale !== undefined && app.instances !== undefined && input['instances'] !== undefined && app.instances > autoscale.max) {
    issues.push(`instances (${app.instances}) is more than autoscale.max (${autoscale.max})`);
  }
  if (app.instances !== undefined && app.instances > MAX_STREAMS_INSTANCES) issues.push(`instances must be at most ${MAX_STREAMS_INSTANCES} for a streams app`);
  if (issues.length > before || typeof appId !== 'string') return undefined;
  const out: StreamsFields = { applicationId: appId };
  if (typeof artifact === 'string') out.artifact = artifact;
  if (typeof mainClass === 'string') out.mainClass = mainClass;
  if (Array.isArray(args)) out.args = args as string[];
  if (heap !== undefined) out.heap = heap;
  if (typeof jvmOpts === 'string' && jvmOpts.trim() !== '') out.jvmOpts = jvmOpts.trim();
  if (streamsConfig !== undefined && Object.keys(streamsConfig).length > 0) out.streamsConfig = streamsConfig;
  if (stateVolume !== undefined) out.stateVolume = stateVolume;
  if (autoscale !== undefined) out.autoscale = autoscale;
  return out;
}

/** Quotes a word for /bin/sh. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** Java properties text escaping (keys escape separators too). */
function propertiesEscape(s: string, key: boolean): string {
  let out = '';
  for (const [i, ch] of [...s].entries()) {
    if (ch === '\\') out += '\\\\';
    else if (ch === '\t') out += '\\t';
    else if (ch === ' ' && (key || i === 0)) out += '\\ ';
    else if (key && (ch === '=' || ch === ':' || ch === '#' || ch === '!')) out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/** `key=value` lines for KMF_STREAMS_CONFIG (Properties.load reads them back). */
export function propertiesText(props: Readonly<Record<string, string>>): string {
  return Object.entries(props)
    .map(([k, v]) => `${propertiesEscape(k, true)}=${propertiesEscape(v, false)}\n`)
    .join('');
}

export function groupInstanceId(applicationId: string, index: number): string {
  return `${applicationId}-${index}`;
}

/** The Streams properties of instance `index` that do not depend on the launch (bootstrap and state.dir do). */
export function instanceStreamsConfig(s: StreamsFields, index: number): Record<string, string> {
  return {
    'session.timeout.ms': DEFAULT_SESSION_TIMEOUT_MS,
    ...(s.streamsConfig ?? {}),
    'application.id': s.applicationId,
    'group.instance.id': groupInstanceId(s.applicationId, index),
  };
}

/** Whether the app names its own cluster (then kmf injects nothing). */
export function ownBootstrap(s: StreamsFields): string | undefined {
  return s.streamsConfig?.['bootstrap.servers'];
}

/**
 * The shell command of an instance. A prelude points the state directory into the sandbox (the volume's mount
 * with stateVolume), so two instances on one agent never share one, and appends state.dir to KMF_STREAMS_CONFIG.
 */
export function instanceCommand(s: StreamsFields, mem: number, userCommand: string | undefined): string {
  const prelude = `export STATE_DIR="\${MESOS_SANDBOX:-$PWD}/${STATE_DIR_PATH}"; mkdir -p "$STATE_DIR"; export KMF_STREAMS_CONFIG="\${KMF_STREAMS_CONFIG}state.dir=$STATE_DIR
"; `;
  if (s.artifact === undefined) return `${prelude}${userCommand ?? ''}`;
  const heap = s.heap ?? Math.max(64, Math.floor(mem / 2));
  const jar = shellQuote(artifactFileName(s.artifact));
  const java = '"${JAVA_HOME:+$JAVA_HOME/bin/}java"';
  const main = s.mainClass === undefined ? `-jar ${jar}` : `-cp ${jar} ${s.mainClass}`;
  const args = (s.args ?? []).map(shellQuote).join(' ');
  return `${prelude}exec ${java} -Xms${heap}m -Xmx${heap}m${s.jvmOpts === undefined ? '' : ` ${s.jvmOpts}`} ${main}${args === '' ? '' : ` ${args}`}`;
}

/** Environment of instance `index` (before the launch-time part the render hook adds). */
export function instanceEnv(s: StreamsFields, index: number): Record<string, string> {
  const env: Record<string, string> = {
    APPLICATION_ID: s.applicationId,
    GROUP_INSTANCE_ID: groupInstanceId(s.applicationId, index),
    PORT: `{{port:${STATE_PORT}}}`,
    KMF_STREAMS_CONFIG: propertiesText(instanceStreamsConfig(s, index)),
  };
  const own = ownBootstrap(s);
  if (own !== undefined) env['BOOTSTRAP_SERVERS'] = own;
  return env;
}

/** The app's port names with "state" first. */
export function streamsPorts(ports: readonly string[] | undefined): string[] {
  return [STATE_PORT, ...(ports ?? []).filter((p) => p !== STATE_PORT)];
}
