import { z } from 'zod';

/**
 * Kaizen's policy shape on the wire (the YAML file's `policies:` and the answer to
 * `GET /v1/policy`): `{mode, rules, name?, enabled?}`. Only the outer shape is checked here; modes,
 * rule keys and values are judged by parse-policies.ts, which can name the policy in its errors.
 */
const MAX_POLICIES = 10_000;

const nameWire = z.string().trim().min(1).max(200);

const policyFields = {
  mode: z.string().describe('blocklist, allowlist or correlation.'),
  rules: z.record(z.string(), z.unknown()).describe('Rule lists by key (domains, ip, ips, publishers, hashes, skill_patterns, tools).'),
  name: nameWire.optional().describe('Shown in logs, errors and evidence.'),
  enabled: z.boolean().default(true).describe('A disabled policy is validated but not evaluated.'),
};

/** In the YAML file: strict, an unknown field is an error. */
export const filePolicyWire = z.strictObject(policyFields);

/**
 * From the control plane: unknown fields (ids, timestamps) are tolerated; rule keys stay strict.
 * An optional field sent as null (a control plane serialising Python's None) is absent: no name,
 * and enabled by default.
 */
export const syncedPolicyWire = z.looseObject({
  ...policyFields,
  name: nameWire
    .nullish()
    .transform((name) => name ?? undefined)
    .describe('Shown in logs, errors and evidence; null is absent.'),
  enabled: z
    .boolean()
    .nullish()
    .transform((enabled) => enabled ?? true)
    .describe('A disabled policy is validated but not evaluated; null is absent (enabled).'),
});

export type PolicyWire = z.output<typeof filePolicyWire>;

export const filePoliciesWire = z.array(filePolicyWire).max(MAX_POLICIES);

/** The answer to `GET /v1/policy`: `{"policies": [...]}`, other top-level fields tolerated. */
export const policyAnswerWire = z.looseObject({ policies: z.array(syncedPolicyWire).max(MAX_POLICIES) });
