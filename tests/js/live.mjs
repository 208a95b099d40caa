// The live-event semantics a UI relies on, seen through the graphql-ws client (issue 12):
//   node live.mjs changes <ws url> <token> <source>  catalogChanges of one source, until killed
//   node live.mjs scan <ws url> <token> <scanId>     scanProgress of one scan, until it completes
// Prints one JSON line per event: {"ready": true} once connected, then each event, and
// {"complete": true} when the server completes the subscription.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [mode, url, token, key] = process.argv.slice(2);
const print = (value) => process.stdout.write(JSON.stringify(value) + "\n");

const documents = {
  changes: {
    query: `subscription ($filter: CatalogChangeFilter) {
      catalogChanges(filter: $filter) { type urn fields asset { id ... on Table { name } } }
    }`,
    variables: { filter: { source: key } },
    field: "catalogChanges",
  },
  scan: {
    query: `subscription ($id: ID!) { scanProgress(scanId: $id) { scanId stage percent } }`,
    variables: { id: key },
    field: "scanProgress",
  },
};
const { query, variables, field } = documents[mode];

const client = createClient({
  url,
  webSocketImpl: WebSocket,
  lazy: false,
  retryAttempts: 0,
  connectionParams: { Authorization: `Bearer ${token}` },
  on: { connected: () => print({ ready: true }) },
});

const timer = setTimeout(() => {
  print({ error: "timed out" });
  process.exit(2);
}, 120_000);

for await (const result of client.iterate({ query, variables })) {
  if (result.errors) {
    print({ error: result.errors });
    process.exit(1);
  }
  print(result.data[field]);
}
print({ complete: true });
clearTimeout(timer);
await client.dispose();
