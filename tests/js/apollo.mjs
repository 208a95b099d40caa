// What Apollo Client 4 shows a UI when the API refuses a request (issue 12):
//   node apollo.mjs <http url> <token or "-">
// Prints one JSON line: the error class Apollo raised, its message and the GraphQL errors it
// surfaced (their extensions.code), or the data when the query succeeded.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";

const [url, token] = process.argv.slice(2);
const headers = token === "-" ? {} : { Authorization: `Bearer ${token}` };
const client = new ApolloClient({
  link: new HttpLink({ uri: url, headers }),
  cache: new InMemoryCache(),
});

const print = (value) => process.stdout.write(JSON.stringify(value) + "\n");
try {
  const result = await client.query({ query: gql`{ serverInfo { version } }` });
  if (result.error) throw result.error;
  print({ data: result.data });
} catch (error) {
  print({
    name: error.name,
    message: error.message,
    codes: (error.errors ?? []).map((e) => e.extensions?.code),
  });
}
