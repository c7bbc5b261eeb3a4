/**
 * The console's views, in the order of the navigation. Each is one route of the admin API shown as a
 * page; a view for another API (Platforms, when its routes exist) is one more entry here and one more
 * module in this folder.
 */
import type { Api } from '../api';
import type { View } from '../html';
import { AuditView } from './audit';
import { ClientsView } from './clients';
import { RealmsView } from './realms';
import { SecretsView } from './secrets';
import { WebhooksView } from './webhooks';

export interface ViewEntry {
  /** The location hash that opens it (#secrets). */
  id: string;
  /** The link's text, its accessible name (README "Console"). */
  label: string;
  component: (props: { api: Api }) => View;
}

export const VIEWS: readonly ViewEntry[] = [
  { id: 'secrets', label: 'Secrets', component: SecretsView },
  { id: 'realms', label: 'Realms', component: RealmsView },
  { id: 'clients', label: 'Clients', component: ClientsView },
  { id: 'webhooks', label: 'Webhooks', component: WebhooksView },
  { id: 'audit', label: 'Audit', component: AuditView },
];
