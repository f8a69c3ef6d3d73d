/**
 * @meshtastic/protobufs 2.7.18 names `dist/mod.d.ts` as its types, but ships them as
 * `dist/mod-D6ytgKaP.d.ts`: without this, its types (and @meshtastic/core's, which import them)
 * are `any`. Remove once the package's `types` field is right.
 */
declare module '@meshtastic/protobufs' {
  export * from '@meshtastic/protobufs/dist/mod-D6ytgKaP';
}
