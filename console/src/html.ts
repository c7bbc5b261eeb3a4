/** htm bound to Preact's h: templates are parsed into h() calls, never into HTML strings. */
import htm from 'htm';
import { h, type VNode } from 'preact';

export const html = htm.bind(h);

/** What a component renders. */
export type View = VNode | VNode[] | string | null;
