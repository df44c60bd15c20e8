{
  "targets": [
    {
      "target_name": "loupe_native",
      "sources": ["native/addon.c", "native/huge-pages.c", "native/popcount-scan.c"],
      "cflags": ["-O2"]
    }
  ]
}
