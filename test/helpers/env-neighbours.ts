// Variables an attack pass got past a list of refused names (issue 11, class 1): the policy must
// refuse them by their shape. Shared by the policy's unit test and its runtime attack test.

/** Names that make a granted program load code, options or configuration, found past the name list. */
export const FOUND_PAST_NAMES: readonly string[] = [
  "COMPILER_PATH",
  "ZIPOPT",
  "UNZIPOPT",
  "VIMINIT",
  "EXINIT",
  "MYVIMRC",
  "RUSTC_WORKSPACE_WRAPPER",
  "CCACHE_PREFIX",
  "MAGICK_CONFIGURE_PATH",
  "SASL_PATH",
  "KRB5_CONFIG",
  "GS_OPTIONS",
  "PKG_CONFIG",
  "GST_PLUGIN_PATH",
  "SSLKEYLOGFILE",
  "TMPDIR",
  "SSL_CERT_FILE",
];
