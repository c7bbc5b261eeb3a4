/**
 * WeChat's answers that say the access token a call carried is dead (README "JS-SDK"): 40001
 * (invalid, or not the latest), 40014 (not valid), 42001 (expired). A module of its own so that the
 * engine and the platforms read it without loading the presets.
 */
export const DEAD_TOKEN_CODES: readonly number[] = [40001, 40014, 42001];
