{
  "targets": [
    {
      "target_name": "gatedrnn",
      "sources": ["<!@(node scripts/build-config.cjs sources)"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/build-config.cjs blas-include)"
      ],
      "defines": ["<!@(node scripts/build-config.cjs defines)"],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++14", "-O2"],
      "cflags_cc": ["<!@(node scripts/build-config.cjs cflags)", "<!@(node scripts/build-config.cjs cxx-standard)"],
      "libraries": ["<!@(node scripts/build-config.cjs blas-libs)"],
      "ldflags": ["<!@(node scripts/build-config.cjs ldflags)"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "OTHER_CPLUSPLUSFLAGS": ["<!@(node scripts/build-config.cjs cflags)"]
      }
    }
  ]
}
