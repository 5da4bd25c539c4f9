/**
 * The core of the GraphQL schema: scalars, PageInfo, the current user, and `group` /
 * `project` lookups by full path. Other modules extend Query, Mutation, Group and Project.
 */
import { findNamespaceById, findNamespaceByPath, type Namespace } from '../../db/namespaces';
import { findProjectByPath, type Project } from '../../db/projects';
import { findUserById, findUserByUsername, type User } from '../../db/users';
import { can } from '../../auth/policy';
import { publicOrigin } from '../../web/origin';
import type { GraphQLContext, SchemaModule } from '../context';
import { parseGid, toGid } from '../gid';
import { PublicError } from '../errors';

/**
 * A namespace as a field shows it: itself when the caller may read it (REST's rule: `GET
 * /groups/:id` answers 404 otherwise), else null, as GitLab's GroupType (`authorize
 * :read_group`) answers a field of an object the caller may not read. A member of a subgroup or
 * project only does not read its private ancestors.
 */
async function readableNamespace(c: GraphQLContext, ns: Namespace | null): Promise<Namespace | null> {
  return ns && (await can(c.env.DB, c.actor, 'read_group', { kind: 'group', group: ns })) ? ns : null;
}

export const core: SchemaModule = {
  typeDefs: /* GraphQL */ `
"Time represented in ISO 8601."
scalar Time
"Arbitrary JSON."
scalar JSON
"A \`GroupID\` is a global ID. It is encoded as a string, for example \`gid://gitlab/Group/1\`."
scalar GroupID
"A \`ProjectID\` is a global ID. It is encoded as a string, for example \`gid://gitlab/Project/1\`."
scalar ProjectID
"A \`UserID\` is a global ID. It is encoded as a string, for example \`gid://gitlab/User/1\`."
scalar UserID

enum VisibilityLevelsEnum {
  private
  internal
  public
}

"Information about pagination in a connection."
type PageInfo {
  endCursor: String
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
}

"Core representation of a GitLab user."
type UserCore {
  id: ID!
  username: String!
  name: String!
  state: String!
  webUrl: String!
  publicEmail: String
}

type Group {
  id: ID!
  name: String!
  path: String!
  fullName: String!
  fullPath: ID!
  description: String
  visibility: String
  webUrl: String!
  parent: Group
}

type Namespace {
  id: ID!
  name: String!
  path: String!
  fullName: String!
  fullPath: ID!
  visibility: String
}

type Project {
  id: ID!
  name: String!
  path: String!
  fullPath: ID!
  nameWithNamespace: String!
  description: String
  visibility: String
  webUrl: String
  group: Group
  namespace: Namespace
}

type Query {
  "Get information about current user."
  currentUser: UserCore
  "Find a group."
  group(fullPath: ID!): Group
  "Find a project."
  project(fullPath: ID!): Project
  "Find a user."
  user(id: UserID, username: String): UserCore
}

input EchoCreateInput {
  errors: [String!]
  messages: [String!]
  clientMutationId: String
}

type EchoCreatePayload {
  clientMutationId: String
  errors: [String!]!
  echoes: [String!]
}

type Mutation {
  "A mutation that does not perform any changes (GitLab's echoCreate, for testing)."
  echoCreate(input: EchoCreateInput!): EchoCreatePayload
}
`,
  resolvers: {
    Query: {
      currentUser: (_p, _a, c: GraphQLContext) => c.actor?.user ?? null,
      group: async (_p, args: { fullPath: string }, c: GraphQLContext) => {
        const group = await findNamespaceByPath(c.env.DB, args.fullPath);
        return group?.kind === 'group' ? readableNamespace(c, group) : null;
      },
      project: async (_p, args: { fullPath: string }, c: GraphQLContext) => {
        const project = await findProjectByPath(c.env.DB, args.fullPath);
        if (!project) return null;
        return (await can(c.env.DB, c.actor, 'read_project', { kind: 'project', project })) ? project : null;
      },
      user: async (_p, args: { id?: string; username?: string }, c: GraphQLContext) => {
        if (args.id !== undefined && args.id !== null) {
          // GitLab's coercion errors for a UserID argument.
          if (typeof args.id !== 'string' || !/^gid:\/\/gitlab\/[A-Za-z0-9:_]+\/\d{1,15}$/.test(args.id)) {
            throw new PublicError(`${JSON.stringify(args.id)} is not a valid Global ID`);
          }
          const id = parseGid(args.id, 'User');
          if (id === null) throw new PublicError(`${JSON.stringify(args.id)} does not represent an instance of User`);
          return findUserById(c.env.DB, id);
        }
        if (args.username) {
          return findUserByUsername(c.env.DB, args.username);
        }
        return null;
      },
    },
    Mutation: {
      echoCreate: (_p, args: { input: { errors?: string[]; messages?: string[]; clientMutationId?: string } }) => ({
        clientMutationId: args.input.clientMutationId ?? null,
        errors: args.input.errors ?? [],
        echoes: args.input.messages ?? [],
      }),
    },
    UserCore: {
      id: (u: User) => toGid('User', u.id),
      webUrl: (u: User, _a, c: GraphQLContext) => `${publicOrigin(c.request, c.env)}/${u.username}`,
      publicEmail: () => null,
    },
    Group: {
      id: (g: Namespace) => toGid('Group', g.id),
      fullName: (g: Namespace) => g.name,
      webUrl: (g: Namespace, _a, c: GraphQLContext) => `${publicOrigin(c.request, c.env)}/groups/${g.fullPath}`,
      parent: async (g: Namespace, _a, c: GraphQLContext) => (g.parentId === null ? null : readableNamespace(c, await findNamespaceById(c.env.DB, g.parentId))),
    },
    Namespace: {
      // A project stands in as GitLab's project namespace (streaming namespace filters point at one).
      id: (n: Pick<Namespace, 'id'> & { kind: string }) =>
        toGid(n.kind === 'group' ? 'Group' : n.kind === 'project' ? 'Namespaces::ProjectNamespace' : 'Namespaces::UserNamespace', n.id),
      fullName: (n: Namespace) => n.name,
    },
    Project: {
      id: (p: Project) => toGid('Project', p.id),
      nameWithNamespace: (p: Project) => `${p.namespace.name} / ${p.name}`,
      webUrl: (p: Project, _a, c: GraphQLContext) => `${publicOrigin(c.request, c.env)}/${p.fullPath}`,
      group: (p: Project, _a, c: GraphQLContext) => (p.namespace.kind === 'group' ? readableNamespace(c, p.namespace) : null),
      namespace: (p: Project, _a, c: GraphQLContext) => readableNamespace(c, p.namespace),
    },
  },
};
