/** Hello world: what the Functions Framework itself costs per request (and to start). */
import type { Request, Response } from 'express';

export function hello(_req: Request, res: Response): void {
  res.status(200).type('application/json').send('{"hello":"world"}');
}
