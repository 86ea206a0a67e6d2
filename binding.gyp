{
  "targets": [
    {
      "target_name": "clip_ts_native",
      "sources": [
        "native/addon.cc",
        "native/threadpool.cc",
        "native/gemm.cc",
        "native/elementwise.cc",
        "native/norm.cc",
        "native/attention.cc",
        "native/loss.cc",
        "native/optim.cc",
        "native/conv.cc",
        "native/pool.cc",
        "native/batchnorm.cc",
        "native/jpeg.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-ffp-contract=fast", "-Wall", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++1y"],
      "conditions": [
        ["OS=='linux'", {
          "cflags_cc": ["<!@(node native/find-blas.cjs cflags)", "<!@(node native/find-jpeg.cjs cflags)", "-march=native"],
          "libraries": ["<!@(node native/find-blas.cjs libs)", "<!@(node native/find-jpeg.cjs libs)", "-lpthread"]
        }],
        ["OS=='mac'", {
          "defines": ["CLIP_TS_ACCELERATE", "ACCELERATE_NEW_LAPACK"],
          "libraries": ["-framework Accelerate", "<!@(node native/find-jpeg.cjs libs)"],
          "xcode_settings": {
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17", "<!@(node native/find-jpeg.cjs cflags)"],
            "MACOSX_DEPLOYMENT_TARGET": "11.0"
          }
        }]
      ]
    }
  ]
}
