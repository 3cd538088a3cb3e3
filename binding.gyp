{
  "variables": {
    "convkit_cflags": ["-O3", "-std=c++17", "-fPIC", "-Wall", "-Wextra", "-fno-math-errno"]
  },
  "target_defaults": {
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=gnu++20"],
    "cflags_cc": ["<@(convkit_cflags)"],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
    "include_dirs": ["native/kernels"],
    "xcode_settings": {
      "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "OTHER_CPLUSPLUSFLAGS": ["-O3", "-fno-math-errno"]
    }
  },
  "targets": [
    {
      # Each ISA's kernels are a static library of their own so that only they get the -m
      # flags; the runtime calls them only after checking the CPU (native/runtime/dispatch.cpp).
      "target_name": "convkit_avx2",
      "type": "static_library",
      "sources": ["native/kernels/isa_avx2.cpp"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='ia32'", { "cflags_cc": ["-mavx2", "-mfma"] }]
      ]
    },
    {
      "target_name": "convkit_avx512",
      "type": "static_library",
      "sources": ["native/kernels/isa_avx512.cpp"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='ia32'", {
          "cflags_cc": ["-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl", "-mavx2", "-mfma"]
        }]
      ]
    },
    {
      "target_name": "convkit",
      "dependencies": ["convkit_avx2", "convkit_avx512"],
      "sources": [
        "native/addon/module.cpp",
        "native/addon/arguments.cpp",
        "native/addon/errors.cpp",
        "native/addon/jobs.cpp",
        "native/addon/pinned_buffers.cpp",
        "native/addon/settings.cpp",
        "native/addon/ops/conv.cpp",
        "native/addon/ops/elementwise.cpp",
        "native/addon/ops/gemm.cpp",
        "native/addon/ops/pad.cpp",
        "native/addon/ops/pool.cpp",
        "native/kernels/common.cpp",
        "native/kernels/plan.cpp",
        "native/kernels/shapes.cpp",
        "native/kernels/isa_generic.cpp",
        "native/kernels/pool/plan.cpp",
        "native/runtime/dispatch.cpp",
        "native/runtime/large_pages.cpp",
        "native/runtime/thread_pool.cpp"
      ],
      "include_dirs": ["native/kernels", "<!(node -p \"require('node-addon-api').include_dir\")"],
      "libraries": ["-lpthread"]
    }
  ]
}
