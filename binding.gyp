# The cryptotensors native addon (N-API via node-addon-api).
#
# OpenSSL on purpose: Node exports the symbols of its own bundled OpenSSL, so linking the system
# libcrypto.so would let the dynamic linker bind our EVP_* calls to Node's copy. We link the
# system's static libcrypto.a instead and hide every symbol it brings (--exclude-libs + hidden
# visibility), so the addon exports nothing but its N-API entry points.
#
# Node's header directory (<nodedir>/include/node) also carries Node's OpenSSL headers. It is
# removed from the -I list and re-added with -idirafter, so <openssl/*.h> resolves to the system
# headers first while <node_api.h> still resolves to Node's.
#
# Intel's ipsec-mb (Debian: libipsec-mb-dev) supplies the AVX-512/VAES AES-GCM engine. It is linked
# statically when its header and libIPSec_MB.a are found on x86-64; otherwise the addon is built
# OpenSSL-only (CT_HAVE_IPSEC_MB=0) and nativeInfo().ipsecMbBuilt is false.
{
  "variables": {
    "openssl_libdir%": "<!(pkg-config --variable=libdir libcrypto 2>/dev/null || echo /usr/lib/x86_64-linux-gnu)",
    "ipsec_mb_lib%": "<!(sh -c 'lib=$(${CC:-cc} -print-file-name=libIPSec_MB.a 2>/dev/null); if [ \"$(uname -m)\" = x86_64 ] && [ -f \"$lib\" ] && [ -f /usr/include/intel-ipsec-mb.h ]; then echo \"$lib\"; else echo none; fi')"
  },
  "targets": [
    {
      "target_name": "cryptotensors",
      "sources": [
        "native/addon.cc",
        "native/arena.cc",
        "native/bench-copy.cc",
        "native/cipher.cc",
        "native/cipher-split.cc",
        "native/code-pages.cc",
        "native/ed25519.cc",
        "native/gcm-vaes.cc",
        "native/file-handle.cc",
        "native/http-head.cc",
        "native/http-receive.cc",
        "native/mapped-file.cc",
        "native/memory-file.cc",
        "native/plan.cc",
        "native/seal.cc",
        "native/sigbus-guard.cc",
        "native/thread-pool.cc",
        "native/data-keys.cc",
        "native/workers.cc"
      ],
      "include_dirs!": ["<(node_root_dir)/include/node"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS", "OPENSSL_API_COMPAT=30000", "OPENSSL_NO_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-O3"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O3"],
      "cflags": [
        "-idirafter", "<(node_root_dir)/include/node",
        "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
        "-U_FORTIFY_SOURCE", "-D_FORTIFY_SOURCE=2",
        "-fstack-protector-strong", "-fvisibility=hidden", "-fPIC"
      ],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-fvisibility-inlines-hidden"],
      "ldflags": [
        "-Wl,--exclude-libs,ALL",
        "-Wl,-z,relro,-z,now",
        "-Wl,-z,noexecstack",
        "-Wl,--version-script=<(module_root_dir)/native/exports.map"
      ],
      "libraries": ["<(openssl_libdir)/libcrypto.a", "-ldl", "-pthread"],
      "conditions": [
        ["ipsec_mb_lib != 'none'", {
          "defines": ["CT_HAVE_IPSEC_MB=1"],
          "libraries": ["<(ipsec_mb_lib)"]
        }, {
          "defines": ["CT_HAVE_IPSEC_MB=0"]
        }]
      ]
    }
  ]
}
