/** Table rendering, terminal safety and time formatting. */
import assert from 'node:assert/strict';
import { CliError, EXIT } from '../../../cli/errors';
import {
  clean,
  displayWidth,
  formatError,
  inCommands,
  formatRelative,
  formatTime,
  renderFields,
  renderTable,
} from '../../../cli/output';

/** The column where each header starts must be where each row's cell starts. */
function columnStarts(line: string, cells: string[]): number[] {
  let from = 0;
  return cells.map((cell) => {
    const at = line.indexOf(cell, from);
    from = at + cell.length;
    return displayWidth(line.slice(0, at));
  });
}

describe('tokenctl output', () => {
  it('renderTable: each column as wide as its widest cell, two spaces apart, no trailing blanks', () => {
    const headers = ['ID', 'COMMENT', 'URL'];
    const rows = [
      ['wxgzh', 'WeChat Official Account', 'https://api.weixin.qq.com/cgi-bin/token'],
      ['a', '', 'https://x'],
      ['fs', '飞书租户', 'https://open.feishu.cn'],
    ];
    const text = renderTable(headers, rows);
    const lines = text.split('\n');
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, 4);
    const starts = columnStarts(lines[0] ?? '', headers);
    assert.deepEqual(starts, [0, 7, 32]);
    rows.forEach((row, i) => {
      const line = lines[i + 1] ?? '';
      assert.equal(line, line.trimEnd());
      const present = row.filter((c) => c !== '');
      const expected = row.map((c, j) => (c === '' ? -1 : starts[j])).filter((s) => s !== -1);
      assert.deepEqual(columnStarts(line, present), expected, line);
    });
    assert.equal(lines[3], 'fs     飞书租户                 https://open.feishu.cn');
  });

  it('renderTable: control characters from the server cannot reach the terminal', () => {
    const text = renderTable(['A', 'B'], [['x\u001b[31mred', 'two\nlines']]);
    assert.ok(!text.includes('\u001b'));
    assert.equal(text.split('\n').length, 3);
    assert.equal(clean('a\tb\u0007'), 'a?b?');
  });

  it('renderFields: names aligned, multi-line values continue under the first line', () => {
    assert.equal(
      renderFields([
        ['id', 'x'],
        ['arguments', ['a=url:$key_1', 'b=body:2']],
        ['empty', []],
      ]),
      'id         x\narguments  a=url:$key_1\n           b=body:2\nempty\n',
    );
  });

  it('displayWidth: CJK counts two columns, combining marks none', () => {
    assert.equal(displayWidth('abc'), 3);
    assert.equal(displayWidth('企业微信'), 8);
    assert.equal(displayWidth('e\u0301'), 1);
  });

  it('displayWidth: emoji take two columns, a skin-tone modifier adds none', () => {
    assert.equal(displayWidth('🚀'), 2);
    assert.equal(displayWidth('☕'), 2);
    assert.equal(displayWidth('✅'), 2);
    assert.equal(displayWidth('👍🏽'), 2);
    assert.equal(displayWidth('ok ✅'), 5);
  });

  it('formatTime and formatRelative', () => {
    const now = Date.parse('2026-11-24T06:00:00.000Z');
    assert.equal(formatTime('2026-11-24T08:00:00.000Z', now), '2026-11-24 08:00:00Z (in 2h)');
    assert.equal(formatTime(now - 61_000, now), '2026-11-24 05:58:59Z (1m 1s ago)');
    assert.equal(formatTime(null, now), '-');
    assert.equal(formatTime(undefined, now), '-');
    assert.equal(formatTime('soon', now), 'soon');
    assert.equal(formatRelative(500), 'now');
    assert.equal(formatRelative(3 * 86_400_000 + 5 * 3_600_000 + 7 * 60_000), 'in 3d 5h');
    assert.equal(formatRelative(-(3_600_000 + 5_000)), '1h ago');
  });

  it('formatError: code, HTTP status, message and details', () => {
    const err = new CliError('Realm "x" does not exist.', {
      code: 'NOT_FOUND',
      exitCode: EXIT.SERVER_ERROR,
      status: 404,
      details: { realm: 'x' },
    });
    assert.equal(
      formatError(err),
      'error: NOT_FOUND (HTTP 404): Realm "x" does not exist.\n  details: {"realm":"x"}\n',
    );
  });

  it('formatError: the provider hint on its own line, routes named as the commands to run', () => {
    const err = new CliError(
      'Unknown realm r: no realm has this id (see GET /api/realm); re-saving the secret, POST /api/secret, clears it',
      {
        code: 'UPSTREAM_ERROR',
        exitCode: EXIT.SERVER_ERROR,
        status: 502,
        details: { providerCode: '40164', hint: 'Add this IP to the allow-list (GET /api/status shows it)' },
      },
    );
    assert.equal(
      formatError(err),
      'error: UPSTREAM_ERROR (HTTP 502): Unknown realm r: no realm has this id (see tokenctl realm list); ' +
        're-saving the secret, tokenctl secret add, clears it\n' +
        '  hint: Add this IP to the allow-list (tokenctl status shows it)\n' +
        '  details: {"providerCode":"40164"}\n',
    );
    assert.equal(
      inCommands('delete DELETE /api/secret/wx/main first'),
      'delete tokenctl secret delete wx main first',
    );
  });
});
