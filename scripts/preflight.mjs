// `npm start`'s first step, before the ~30 s build: are the ports free? A port in use most often
// means npm start is already running, and building then would rewrite lib/ under it. Plain
// JavaScript so that it runs before anything is compiled; scripts/start.ts checks the ports again
// (and everything else) once built, with the same message.
import { createServer } from 'node:net';
import process from 'node:process';

const PORTS = [
  ['TOKEN_SERVER_PORT', 8080],
  ['TOKEN_SERVER_CACHE_PORT', 8081],
  ['FAKE_PROVIDER_PORT', 8099],
];

function portFree(port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

for (const [variable, fallback] of PORTS) {
  const value = process.env[variable];
  const port = value === undefined || value === '' ? fallback : Number(value);
  // A bad value is scripts/start.ts's to explain, by variable name.
  if (!Number.isInteger(port) || port < 1 || port > 65535) continue;
  if (!(await portFree(port))) {
    process.stderr.write(
      `Port ${port} is already in use (is another npm start running?): stop it, or set ${variable} to a free port, e.g. ${variable}=${port + 100} npm start\n`,
    );
    process.exit(1);
  }
}
