// Subscribes to catalogChanges of one source over graphql-transport-ws (the graphql-ws client)
// and prints one JSON line per event: {"ready": true} once connected, then each change.
// Usage: node subscribe.mjs <ws url> <source> <events to wait for> <bearer token>
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, source, wanted = "1", token = ""] = process.argv.slice(2);
const print = (value) => process.stdout.write(JSON.stringify(value) + "\n");

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  connectionParams: { Authorization: `Bearer ${token}` },
  on: { connected: () => print({ ready: true }) },
});

const query = `subscription ($filter: CatalogChangeFilter) {
  catalogChanges(filter: $filter) { type urn source fields }
}`;

let seen = 0;
const timer = setTimeout(() => {
  print({ error: "timed out" });
  process.exit(2);
}, 60_000);

for await (const result of client.iterate({ query, variables: { filter: { source } } })) {
  if (result.errors) {
    print({ error: result.errors });
    process.exit(1);
  }
  print(result.data.catalogChanges);
  if (++seen >= Number(wanted)) break;
}
clearTimeout(timer);
await client.dispose();
