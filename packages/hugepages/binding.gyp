{
  "targets": [
    {
      "target_name": "hugepages",
      "sources": ["native/hugepages.c"],
      "cflags": ["-O2"]
    }
  ]
}
