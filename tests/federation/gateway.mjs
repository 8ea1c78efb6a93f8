// Composes stockgraph's subgraph with the catalog subgraph and serves the supergraph.
// Usage: node gateway.mjs PORT STOCKGRAPH_GRAPHQL_URL CATALOG_GRAPHQL_URL
// Each subgraph's SDL is fetched from its running server (`_service { sdl }`); a composition
// error ends the process with every error printed, so a test sees why.
import { composeServices } from "@apollo/composition";
import { ApolloGateway } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { parse } from "graphql";

const [port, stockgraphUrl, catalogUrl] = process.argv.slice(2);
if (!port || !stockgraphUrl || !catalogUrl) {
  console.error("usage: node gateway.mjs PORT STOCKGRAPH_URL CATALOG_URL");
  process.exit(2);
}

async function fetchSdl(url) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: "{ _service { sdl } }" }),
  });
  const body = await response.json();
  if (!response.ok || body.errors) {
    throw new Error(`SDL from ${url}: HTTP ${response.status} ${JSON.stringify(body)}`);
  }
  return body.data._service.sdl;
}

const services = [
  { name: "stockgraph", url: stockgraphUrl, typeDefs: parse(await fetchSdl(stockgraphUrl)) },
  { name: "catalog", url: catalogUrl, typeDefs: parse(await fetchSdl(catalogUrl)) },
];
const composed = composeServices(services);
if (composed.errors) {
  console.error("composition failed:");
  for (const error of composed.errors) console.error(`  ${error.message}`);
  process.exit(1);
}
for (const hint of composed.hints ?? []) console.error(`hint: ${hint.message}`);

const gateway = new ApolloGateway({ supergraphSdl: composed.supergraphSdl });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, {
  listen: { host: "127.0.0.1", port: Number(port) },
});
console.log(`ready ${url}`);
