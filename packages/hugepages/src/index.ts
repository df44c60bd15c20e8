import { createRequire } from 'node:module';

interface HugePagesAddon {
  advise(buffer: ArrayBuffer): number;
}

function loadAddon(): HugePagesAddon | null {
  try {
    return createRequire(import.meta.url)('../build/Release/hugepages.node') as HugePagesAddon;
  } catch {
    return null;
  }
}

const addon = loadAddon();
let wanted = true;

/** True when the addon built (Linux with a compiler at install time). */
export const hugePagesAddonLoaded = addon !== null;

/**
 * Whether adviseHugePages advises anything in this thread from now on (on by default): a shard
 * thread sets it from LOUPE_HUGE_PAGES before it loads its codes.
 */
export function useHugePages(on: boolean): void {
  wanted = on;
}

/**
 * Asks the kernel to back `buffer`'s memory with transparent huge pages (madvise MADV_HUGEPAGE over
 * its 2 MiB-aligned part) as its pages are touched. A scan streams the codes: with 4 KiB pages it
 * takes a TLB miss every 128 records of 256 bits, and that, not the popcounts, is a quarter of its
 * time. Returns the bytes advised: 0 without the addon (or after useHugePages(false)) or without a
 * whole huge page inside, negative (-errno) when the kernel refused. With THP `never` the advice is
 * accepted and changes nothing.
 */
export function adviseHugePages(buffer: ArrayBuffer): number {
  return addon && wanted ? addon.advise(buffer) : 0;
}
