// The manifests folder's public surface (named exports only): reading and validating plugin.json,
// the grant syntax and table, permission and limit growth between two versions, discovery of a
// plugins directory. Code outside manifests/ imports from here, not from the files behind it
// (test/architecture.test.ts), so the folder can be rearranged without touching its users.
export { readManifest, validateManifest, formatPath, formatProblems, MANIFEST_FILE, MAX_MANIFEST_BYTES } from "./read-manifest.ts";
export type { LoadedManifest, ManifestProblem } from "./read-manifest.ts";
export { LimitsSchema, PermissionsSchema } from "./schema.ts";
export type { Manifest, ManifestLimits, ManifestPermissions } from "./schema.ts";
export { checkPluginId } from "./grant-syntax.ts";
export { describeGrants, envCovers, formatGrantTable, topicCovers } from "./grant-table.ts";
export { envPrefixSpansFamilies, spansNamespaces } from "./lint-manifest.ts";
export type { GrantRow } from "./grant-table.ts";
export { grantLeads, grantRealPaths, leadChanges } from "./grant-roots.ts";
export type { GrantLeads } from "./grant-roots.ts";
export { declaredLimits, entryTimeouts, limitGrowth, permissionGrowth } from "./permission-diff.ts";
export type { LimitsView } from "./permission-diff.ts";
export { discoverPlugins } from "./discover-plugins.ts";
export { compileEntrySpecs } from "./entry-input.ts";
export type { EntrySpecs } from "./entry-input.ts";
export { validatePluginConfig } from "./plugin-config.ts";
