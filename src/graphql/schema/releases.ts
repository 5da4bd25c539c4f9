/**
 * SDL of releases in GitLab's names: Project.releases / Project.release, the Release,
 * ReleaseAssets and ReleaseLink types, and the release and asset link mutations.
 */
import { connectionTypes } from '../connection';
import { mutationFields } from './common';

export const releaseTypeDefs = /* GraphQL */ `
"A \`ReleaseID\` is a global ID. It is encoded as a string, for example \`gid://gitlab/Release/1\`."
scalar ReleaseID
"A \`ReleasesLinkID\` is a global ID. It is encoded as a string, for example \`gid://gitlab/Releases::Link/1\`."
scalar ReleasesLinkID

"Type of the link: \`other\`, \`runbook\`, \`image\`, \`package\`."
enum ReleaseAssetLinkType {
  OTHER
  RUNBOOK
  PACKAGE
  IMAGE
}

"Values for sorting releases."
enum ReleaseSort {
  CREATED_DESC
  CREATED_ASC
  RELEASED_AT_DESC
  RELEASED_AT_ASC
}

"Represents an asset link associated with a release."
type ReleaseLink {
  id: ReleasesLinkID!
  name: String
  url: String
  linkType: ReleaseAssetLinkType
  "Tracked URL of this service: every download through it is recorded in the audit log."
  directAssetUrl: String
  directAssetPath: String
  external: Boolean
  "Number of tracked downloads through \`directAssetUrl\` (counted as each download's audit event is stored, about a second after the click). Not in GitLab."
  downloadCount: Int!
}
${connectionTypes('ReleaseLink')}

"Represents the source code attached to a release in a particular format (none here: no git repository)."
type ReleaseSource {
  format: String
  url: String
}
${connectionTypes('ReleaseSource')}

"A container for all assets associated with a release."
type ReleaseAssets {
  count: Int
  links(first: Int, after: String, last: Int, before: String): ReleaseLinkConnection
  sources(first: Int, after: String, last: Int, before: String): ReleaseSourceConnection
}

type ReleaseLinks {
  selfUrl: String
  editUrl: String
}

"Represents a release."
type Release {
  id: ReleaseID!
  tagName: String
  tagPath: String
  name: String
  description: String
  releasedAt: Time
  createdAt: Time
  upcomingRelease: Boolean
  historicalRelease: Boolean
  author: UserCore
  assets: ReleaseAssets
  links: ReleaseLinks
  "Evidence for the release (collected at audit log checkpoints), oldest first."
  evidences(first: Int, after: String, last: Int, before: String): ReleaseEvidenceConnection
}
${connectionTypes('Release')}

"Evidence for a release: the SHA-256 of its JSON document, the document's URL, when it was collected."
type ReleaseEvidence {
  id: ID!
  sha: String
  filepath: String
  collectedAt: Time
}
${connectionTypes('ReleaseEvidence')}

extend type Project {
  "Releases of the project."
  releases(sort: ReleaseSort = RELEASED_AT_DESC, first: Int, after: String, last: Int, before: String): ReleaseConnection
  "A single release of the project."
  release(tagName: String!): Release
}

"Fields that are available when modifying a release asset link."
input ReleaseAssetLinkInput {
  name: String!
  url: String!
  directAssetPath: String
  linkType: ReleaseAssetLinkType = OTHER
}

"Fields that are available when modifying release assets."
input ReleaseAssetsInput {
  links: [ReleaseAssetLinkInput!]
}

input ReleaseCreateInput {
  clientMutationId: String
  projectPath: ID!
  tagName: String!
  "Accepted and ignored: this service holds no git repository, so no tag is created."
  ref: String
  tagMessage: String
  name: String
  description: String
  releasedAt: Time
  milestones: [String!]
  assets: ReleaseAssetsInput
}

type ReleaseCreatePayload {
  clientMutationId: String
  errors: [String!]!
  release: Release
}

input ReleaseUpdateInput {
  clientMutationId: String
  projectPath: ID!
  tagName: String!
  name: String
  description: String
  releasedAt: Time
  milestones: [String!]
}

type ReleaseUpdatePayload {
  clientMutationId: String
  errors: [String!]!
  release: Release
}

input ReleaseDeleteInput {
  clientMutationId: String
  projectPath: ID!
  tagName: String!
}

type ReleaseDeletePayload {
  clientMutationId: String
  errors: [String!]!
  release: Release
}

input ReleaseAssetLinkCreateInput {
  clientMutationId: String
  name: String!
  url: String!
  directAssetPath: String
  linkType: ReleaseAssetLinkType = OTHER
  projectPath: ID!
  tagName: String!
}

type ReleaseAssetLinkCreatePayload {
  clientMutationId: String
  errors: [String!]!
  link: ReleaseLink
}

input ReleaseAssetLinkUpdateInput {
  clientMutationId: String
  id: ReleasesLinkID!
  name: String
  url: String
  directAssetPath: String
  linkType: ReleaseAssetLinkType
}

type ReleaseAssetLinkUpdatePayload {
  clientMutationId: String
  errors: [String!]!
  link: ReleaseLink
}

input ReleaseAssetLinkDeleteInput {
  clientMutationId: String
  id: ReleasesLinkID!
}

type ReleaseAssetLinkDeletePayload {
  clientMutationId: String
  errors: [String!]!
  link: ReleaseLink
}

${mutationFields(['ReleaseCreate', 'ReleaseUpdate', 'ReleaseDelete', 'ReleaseAssetLinkCreate', 'ReleaseAssetLinkUpdate', 'ReleaseAssetLinkDelete'])}`;
