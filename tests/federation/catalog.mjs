// A small catalog subgraph: names for products whose availability comes from stockgraph.
// Usage: node catalog.mjs PORT '[{"sku": "SKU-1", "name": "Tent"}, ...]'
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parse } from "graphql";

const [port, productsJson] = process.argv.slice(2);
if (!port || !productsJson) {
  console.error("usage: node catalog.mjs PORT PRODUCTS_JSON");
  process.exit(2);
}
const products = JSON.parse(productsJson);
const bySku = new Map(products.map((p) => [p.sku, p]));

const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

  type Product @key(fields: "sku") {
    sku: ID!
    name: String!
  }

  type Query {
    products: [Product!]!
  }
`);

const resolvers = {
  Query: { products: () => products },
  Product: { __resolveReference: (ref) => bySku.get(ref.sku) ?? null },
};

const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers }) });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(port) },
});
console.log(`ready ${url}`);
