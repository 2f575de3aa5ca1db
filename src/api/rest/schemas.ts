/** Schemas shared by the REST routes. */
import { Type } from 'typebox';

export const TopicName = Type.String({ minLength: 1, maxLength: 127, pattern: '^[%|a-zA-Z0-9_-]+$' });
export const GroupName = Type.String({ minLength: 1, maxLength: 255, pattern: '^[%|a-zA-Z0-9_-]+$' });

export const TopicParams = Type.Object({ topic: TopicName }, { additionalProperties: false });
export const GroupParams = Type.Object({ group: GroupName }, { additionalProperties: false });
