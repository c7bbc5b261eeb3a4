/** Each platform's ticket freshness from its row of the table, at each boundary, with an injected time. */
import { expect } from 'chai';
import { getPreset } from '../../../functions/providers/presets';
import { freshnessOf, TICKET_FRESHNESS } from '../../../functions/platforms/freshness-table';
import { ticketStatus } from '../../../functions/platforms/ticket-status';

const MINUTE = 60_000;

describe('ticket freshness per platform', () => {
  const at = 1_800_000_000_000;
  const pushed = (age: number) => ({ realm: 'r', key: 'k', ticket: 't', ticketArrivedAt: at - age });
  const urlOf = (preset: string): string => {
    const url = getPreset(preset)?.config.url;
    if (typeof url !== 'string') throw new Error(`no preset ${preset}`);
    return url;
  };

  it('finds each row from its preset, on any host; an unknown realm gets the WeChat component row', () => {
    for (const row of TICKET_FRESHNESS) {
      expect(freshnessOf({ url: urlOf(row.preset) }).preset).to.equal(row.preset);
      const moved = new URL(urlOf(row.preset));
      expect(freshnessOf({ url: `http://127.0.0.1:9${moved.pathname}` }).preset).to.equal(row.preset);
    }
    expect(freshnessOf({ url: 'https://example.com/token' }).preset).to.equal('wechat_component');
  });

  it('WeCom suite: stale after 25 minutes without a push, expired after 30; no call asks for a push', () => {
    const wecom = freshnessOf({ url: urlOf('wecom_suite') });
    expect(wecom.ask).to.equal(undefined);
    expect(ticketStatus(pushed(25 * MINUTE), at, wecom).ticket_state).to.equal('ok');
    expect(ticketStatus(pushed(25 * MINUTE + 1), at, wecom).ticket_state).to.equal('stale');
    expect(ticketStatus(pushed(30 * MINUTE), at, wecom).ticket_state).to.equal('stale');
    expect(ticketStatus(pushed(30 * MINUTE + 1), at, wecom)).to.deep.equal({
      ticket_state: 'expired',
      ticket_age_ms: 30 * MINUTE + 1,
    });
  });

  it('every row is stale after 2.5 push intervals and expires no sooner', () => {
    for (const row of TICKET_FRESHNESS) {
      expect(row.staleAfterMs, row.preset).to.equal(2.5 * row.pushIntervalMs);
      expect(row.validityMs, row.preset).to.be.at.least(row.staleAfterMs);
    }
  });
});
