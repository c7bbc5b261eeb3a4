/** The pushed ticket's freshness as /api/status shows it, at each boundary. */
import { expect } from 'chai';
import {
  ticketStatus,
  TICKET_STALE_AFTER_MS,
  TICKET_VALID_MS,
} from '../../../functions/platforms/ticket-status';

describe('ticketStatus', () => {
  const at = 1_800_000_000_000;
  const pushed = (age: number) => ({ realm: 'r', key: 'k', ticket: 't', ticketArrivedAt: at - age });

  it('is missing before the first push, ok, stale after 25 minutes, expired after 12 hours', () => {
    expect(ticketStatus(null, at)).to.deep.equal({ ticket_state: 'missing', ticket_age_ms: null });
    expect(ticketStatus({ realm: 'r', key: 'k', startPushAt: at }, at).ticket_state).to.equal('missing');
    expect(ticketStatus(pushed(0), at)).to.deep.equal({ ticket_state: 'ok', ticket_age_ms: 0 });
    expect(ticketStatus(pushed(TICKET_STALE_AFTER_MS), at).ticket_state).to.equal('ok');
    expect(ticketStatus(pushed(TICKET_STALE_AFTER_MS + 1), at).ticket_state).to.equal('stale');
    expect(ticketStatus(pushed(TICKET_VALID_MS), at).ticket_state).to.equal('stale');
    expect(ticketStatus(pushed(TICKET_VALID_MS + 1), at)).to.deep.equal({
      ticket_state: 'expired',
      ticket_age_ms: TICKET_VALID_MS + 1,
    });
  });
});
