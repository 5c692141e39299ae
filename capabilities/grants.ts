// The grants this layer enforces. capabilities/ owns this type and never imports manifests/: core
// passes the manifest's `permissions` object, and a type test checks the two stay assignable.

/** A grant list: `true` for everything of that kind, or the granted values (an empty list grants nothing). */
export type GrantList = true | readonly string[];

/** What one plugin may do outside its isolate. Absent means denied. */
export type Grants = {
  readonly read?: GrantList | undefined;
  readonly write?: GrantList | undefined;
  readonly net?: GrantList | undefined;
  readonly exec?: GrantList | undefined;
  readonly env?: GrantList | undefined;
  readonly plugins?: GrantList | undefined;
  readonly channels?: true | { readonly publish?: GrantList | undefined; readonly subscribe?: GrantList | undefined } | undefined;
};
