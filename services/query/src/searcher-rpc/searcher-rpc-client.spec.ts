import { describe, expect, it } from 'vitest';
import { searchDuration } from './searcher-rpc-client.ts';

describe('searchDuration (the searcher\'s own time from Server-Timing)', () => {
  it('reads the search metric among others, with or without a description', () => {
    expect(searchDuration('search;dur=12.5')).toBe(12.5);
    expect(searchDuration('db;dur=3, search;desc="shards";dur=7')).toBe(7);
    expect(searchDuration(['cache;dur=1', 'search;dur=0.25'])).toBe(0.25);
  });

  it('is undefined when the searcher said nothing about its search', () => {
    expect(searchDuration(undefined)).toBeUndefined();
    expect(searchDuration('research;dur=5')).toBeUndefined();
    expect(searchDuration('search')).toBeUndefined();
  });
});
