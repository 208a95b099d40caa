// Peer for bench/subscriptions.py: catalogChanges over graphql-transport-ws (graphql-ws 6 on ws 8,
// graphql-js 16), fed by the same Redis pub/sub channel DataWave's replicas read
// (live/broadcast.py): one pattern subscription per process, each message parsed once, then
// offered to every local subscriber's bounded queue (256, like DataWave's default; a full queue
// closes the socket with 4008), filtered per subscriber, executed by graphql-js per event.
// No authentication, RBAC or audit. Env: PORT (default 4001), REDIS_URL. Prints "ready <url>".
import { createServer } from "node:http";
import {
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
} from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { createClient } from "redis";
import { WebSocketServer } from "ws";

const PREFIX = "datawave:live:";
const QUEUE_SIZE = 256;
const SLOW_CONSUMER = 4008;

const str = new GraphQLNonNull(GraphQLString);
const strList = new GraphQLList(str);
const ChangeType = new GraphQLEnumType({
  name: "ChangeType",
  values: { ADDED: { value: "added" }, CHANGED: { value: "changed" }, REMOVED: { value: "removed" } },
});
const CatalogChange = new GraphQLObjectType({
  name: "CatalogChange",
  fields: {
    type: { type: new GraphQLNonNull(ChangeType) },
    urn: { type: str },
    kind: { type: str },
    source: { type: str },
    fields: { type: new GraphQLNonNull(strList) },
    at: { type: str },
  },
});
const CatalogChangeFilter = new GraphQLInputObjectType({
  name: "CatalogChangeFilter",
  fields: {
    source: { type: GraphQLString },
    kinds: { type: strList },
    types: { type: new GraphQLList(new GraphQLNonNull(ChangeType)) },
    urns: { type: strList },
  },
});

// channel -> set of subscribers; a subscriber is a bounded queue read as an async iterator.
const hub = new Map();

class Subscriber {
  constructor(channel, socket) {
    this.channel = channel;
    this.socket = socket;
    this.items = [];
    this.waiting = null;
    this.done = false;
  }
  offer(message) {
    if (this.done) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: message, done: false });
    } else if (this.items.length < QUEUE_SIZE) {
      this.items.push(message);
    } else {
      this.items = [];
      this.socket.close(SLOW_CONSUMER, `slow consumer: more than ${QUEUE_SIZE} messages behind`);
    }
  }
  next() {
    if (this.items.length) return Promise.resolve({ value: this.items.shift(), done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }
  return() {
    this.done = true;
    hub.get(this.channel)?.delete(this);
    if (this.waiting) this.waiting({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }
  [Symbol.asyncIterator]() {
    return this;
  }
}

function subscribe(channel, socket) {
  const sub = new Subscriber(channel, socket);
  if (!hub.has(channel)) hub.set(channel, new Set());
  hub.get(channel).add(sub);
  return sub;
}

async function* filtered(sub, filter) {
  for await (const change of sub) {
    if (
      (filter?.source == null || change.source === filter.source) &&
      (filter?.kinds == null || filter.kinds.includes(change.kind)) &&
      (filter?.types == null || filter.types.includes(change.type)) &&
      (filter?.urns == null || filter.urns.includes(change.urn))
    ) {
      yield change;
    }
  }
}

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: "Query", fields: { ok: { type: GraphQLString } } }),
  subscription: new GraphQLObjectType({
    name: "Subscription",
    fields: {
      catalogChanges: {
        type: new GraphQLNonNull(CatalogChange),
        args: { filter: { type: CatalogChangeFilter } },
        subscribe: (_root, { filter }, ctx) => filtered(subscribe("catalog", ctx.extra.socket), filter),
        resolve: (change) => change,
      },
    },
  }),
});

const redis = createClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379/0" });
await redis.connect();
await redis.pSubscribe(`${PREFIX}*`, (raw, channel) => {
  let message;
  try {
    message = JSON.parse(raw);
  } catch {
    return;
  }
  const subs = hub.get(channel.slice(PREFIX.length));
  if (subs) for (const sub of [...subs]) sub.offer(message);
});

const server = createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end('{"status":"ok"}');
});
useServer({ schema, context: (ctx) => ctx }, new WebSocketServer({ server, path: "/graphql" }));
const port = Number(process.env.PORT ?? 4001);
server.listen(port, "127.0.0.1", () => console.log(`ready http://127.0.0.1:${port}/graphql`));
