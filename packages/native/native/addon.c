/* The addon's module: huge pages for the kernel's memory (huge-pages.c) and its AVX-512 loops (popcount-scan.c). */
#include <node_api.h>

napi_value hugePagesExports(napi_env env, napi_value exports);
napi_value popcountScanExports(napi_env env, napi_value exports);

NAPI_MODULE_INIT() {
  return popcountScanExports(env, hugePagesExports(env, exports));
}
