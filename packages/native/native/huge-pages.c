/*
 * advise(arrayBuffer): madvise(MADV_HUGEPAGE) over the 2 MiB-aligned part of an ArrayBuffer's memory
 * (a WebAssembly.Memory's buffer), so pages touched from then on can be transparent huge pages when
 * the kernel's THP mode is `madvise` or `always`. Returns the bytes advised, 0 when no whole huge
 * page lies inside the buffer, or -errno.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <node_api.h>
#include <stdint.h>
#include <sys/mman.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)

static napi_value advise(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  size_t length = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_arraybuffer_info(env, argv[0], &data, &length) != napi_ok) {
    napi_throw_type_error(env, NULL, "advise() takes an ArrayBuffer");
    return NULL;
  }
  uintptr_t start = ((uintptr_t)data + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
  uintptr_t end = ((uintptr_t)data + length) & ~(HUGE_PAGE - 1);
  double result = 0;
#ifdef MADV_HUGEPAGE
  if (end > start) result = madvise((void *)start, end - start, MADV_HUGEPAGE) == 0 ? (double)(end - start) : -(double)errno;
#endif
  napi_value out;
  napi_create_double(env, result, &out);
  return out;
}

napi_value hugePagesExports(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "advise", NAPI_AUTO_LENGTH, advise, NULL, &fn);
  napi_set_named_property(env, exports, "advise", fn);
  return exports;
}
