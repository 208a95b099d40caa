// Peer for bench/graphql.py: @neo4j/graphql on Apollo Server, reading DataWave's Neo4j.
// Env: PORT (default 4000), NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD. Prints "ready <url>".
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { Neo4jGraphQL } from "@neo4j/graphql";
import neo4j from "neo4j-driver";

const typeDefs = /* GraphQL */ `
  type Table @node(labels: ["Table"]) @mutation(operations: []) {
    urn: ID!
    name: String!
    source: String
    kind: String
    description: String
    rowCount: BigInt
    removedAt: String
    columns: [Column!]! @relationship(type: "HAS_COLUMN", direction: OUT)
    upstream: [Table!]! @relationship(type: "FEEDS", direction: IN)
    downstream: [Table!]! @relationship(type: "FEEDS", direction: OUT)
  }

  type Column @node(labels: ["Column"]) @mutation(operations: []) {
    urn: ID!
    name: String!
    source: String
    dataType: String
    nullable: Boolean
    ordinal: Int
    removedAt: String
    labels: [Label!]! @relationship(type: "LABELED", direction: OUT, properties: "Labeled")
  }

  type Label @node(labels: ["Label"]) @mutation(operations: []) {
    name: String!
    category: String
    sensitivity: String
  }

  type Labeled @relationshipProperties {
    status: String
    confidence: Float
  }
`;

const driver = neo4j.driver(
  process.env.NEO4J_URI ?? "bolt://127.0.0.1:7687",
  neo4j.auth.basic(process.env.NEO4J_USER ?? "neo4j", process.env.NEO4J_PASSWORD ?? "datawave-dev"),
);
const schema = await new Neo4jGraphQL({ typeDefs, driver }).getSchema();
const server = new ApolloServer({ schema });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(process.env.PORT ?? 4000) },
});
console.log(`ready ${url}`);
