import { createRequire } from 'node:module';

/**
 * The scan kernel's loops for 256-bit codes with AVX-512 vpopcntq (native/popcount-scan.c): the
 * contract and memory layout of the WebAssembly functions scalar32 and multi32xP, run over the
 * same WebAssembly.Memory buffer. Offsets of the layout are set once with `layout`.
 */
export interface NativePopcountScan {
  layout(codes: number, query: number, out: number, resume: number, multiQuery: number, multiThresholds: number): void;
  scan32(buffer: ArrayBuffer, blockStart: number, blockEnd: number, threshold: number, outCap: number): number;
  multi32(buffer: ArrayBuffer, probes: number, blockStart: number, blockEnd: number, outCap: number): number;
}

/** What the addon exports (native/addon.c). */
interface NativeAddon extends NativePopcountScan {
  advise(buffer: ArrayBuffer): number;
  supported(): boolean;
}

function loadAddon(): NativeAddon | null {
  try {
    return createRequire(import.meta.url)('../build/Release/loupe_native.node') as NativeAddon;
  } catch {
    return null;
  }
}

const addon = loadAddon();
let hugePagesWanted = true;
let nativeScanWanted = true;

/** True when the addon built (Linux with a compiler at install time). */
export const nativeAddonLoaded = addon !== null;

/**
 * Whether adviseHugePages advises anything in this thread from now on (on by default): a shard
 * thread sets it from LOUPE_HUGE_PAGES before it loads its codes.
 */
export function useHugePages(on: boolean): void {
  hugePagesWanted = on;
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
  return addon && hugePagesWanted ? addon.advise(buffer) : 0;
}

/**
 * Whether kernels made in this thread from now on use the native scan loops (on by default): a
 * shard thread sets it from LOUPE_NATIVE_SCAN before it loads its codes.
 */
export function useNativeScan(on: boolean): void {
  nativeScanWanted = on;
}

/** The native scan loops when the addon built, this CPU has AVX-512 VPOPCNTDQ and they are wanted, else null. */
export function nativePopcountScan(): NativePopcountScan | null {
  return nativeScanWanted && addon?.supported() ? addon : null;
}
