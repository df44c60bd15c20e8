import { describe, expect, it } from 'vitest';
import { compareSequencers, EventMessageError, parseS3EventMessage } from './s3-event-message.ts';

/** A record as S3 writes it (event structure 2.1), trimmed of fields Loupe does not read. */
function record(eventName: string, key: string, object: Record<string, unknown> = {}) {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: '2024-05-01T10:00:00.000Z',
    eventName,
    s3: { s3SchemaVersion: '1.0', bucket: { name: 'photos', arn: 'arn:aws:s3:::photos' }, object: { key, ...object } },
  };
}

describe('parseS3EventMessage', () => {
  it('reads creations and removals, decoding keys as S3 encodes them (+ for space, %XX)', () => {
    const body = JSON.stringify({
      Records: [
        record('ObjectCreated:Put', 'cam/my+summer+photo%281%29.jpg', { size: 1024, eTag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '0055aed6dcd90281e5' }),
        record('ObjectCreated:CompleteMultipartUpload', 'cam/big.jpg', { size: '5242880', eTag: '"abc-2"', sequencer: '0055AED6DCD90281E6' }),
        record('ObjectRemoved:Delete', 'cam/caf%C3%A9+%2B+tea.jpg', { sequencer: '0055AED6DCD90281E7' }),
        record('ObjectRemoved:DeleteMarkerCreated', 'cam/a.jpg', { sequencer: '0055AED6DCD90281E8' }),
        record('LifecycleExpiration:Delete', 'cam/b.jpg', { sequencer: '0055AED6DCD90281E9' }),
      ],
    });
    const m = parseS3EventMessage(body);
    expect(m).toEqual({
      kind: 'records',
      other: [],
      events: [
        { op: 'created', name: 'ObjectCreated:Put', bucket: 'photos', key: 'cam/my summer photo(1).jpg', size: 1024, etag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '0055AED6DCD90281E5' },
        { op: 'created', name: 'ObjectCreated:CompleteMultipartUpload', bucket: 'photos', key: 'cam/big.jpg', size: 5242880, etag: 'abc-2', sequencer: '0055AED6DCD90281E6' },
        { op: 'removed', name: 'ObjectRemoved:Delete', bucket: 'photos', key: 'cam/café + tea.jpg', sequencer: '0055AED6DCD90281E7' },
        { op: 'removed', name: 'ObjectRemoved:DeleteMarkerCreated', bucket: 'photos', key: 'cam/a.jpg', sequencer: '0055AED6DCD90281E8' },
        { op: 'removed', name: 'LifecycleExpiration:Delete', bucket: 'photos', key: 'cam/b.jpg', sequencer: '0055AED6DCD90281E9' },
      ],
    });
  });

  it('accepts the s3: prefix some S3-compatible stores put on event names, and a missing sequencer', () => {
    const m = parseS3EventMessage(JSON.stringify({ Records: [record('s3:ObjectCreated:Copy', 'x.png', { eTag: 'e1', size: 3 })] }));
    expect(m).toEqual({ kind: 'records', other: [], events: [{ op: 'created', name: 'ObjectCreated:Copy', bucket: 'photos', key: 'x.png', etag: 'e1', size: 3 }] });
  });

  it('sets aside events that do not change content', () => {
    const m = parseS3EventMessage(JSON.stringify({
      Records: [record('ObjectTagging:Put', 'x.jpg'), record('ObjectRestore:Completed', 'y.jpg'), record('LifecycleTransition', 'z.jpg')],
    }));
    expect(m).toEqual({ kind: 'records', events: [], other: ['ObjectTagging:Put', 'ObjectRestore:Completed', 'LifecycleTransition'] });
  });

  it('knows the test event S3 sends when notifications are configured', () => {
    const test = { Service: 'Amazon S3', Event: 's3:TestEvent', Time: '2024-05-01T10:00:00.000Z', Bucket: 'photos', RequestId: 'R', HostId: 'H' };
    expect(parseS3EventMessage(JSON.stringify(test))).toEqual({ kind: 'test' });
  });

  it('unwraps an SNS envelope', () => {
    const inner = { Records: [record('ObjectCreated:Put', 'cam/x.jpg', { eTag: 'e', size: 1, sequencer: '0A' })] };
    const sns = { Type: 'Notification', MessageId: 'm', TopicArn: 'arn:aws:sns:us-east-1:1:t', Subject: 'Amazon S3 Notification', Message: JSON.stringify(inner) };
    expect(parseS3EventMessage(JSON.stringify(sns))).toMatchObject({ kind: 'records', events: [{ op: 'created', key: 'cam/x.jpg', sequencer: '0A' }] });
    const snsTest = { Type: 'Notification', Message: JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }) };
    expect(parseS3EventMessage(JSON.stringify(snsTest))).toEqual({ kind: 'test' });
  });

  it('refuses what is not an S3 event notification, saying why', () => {
    const cases: [string, RegExp][] = [
      ['hello', /not JSON/],
      ['[1,2]', /not a JSON object/],
      ['{"detail-type":"Object Created"}', /no Records array/],
      [JSON.stringify({ Type: 'Notification', Message: '{oops' }), /not JSON/],
      [JSON.stringify({ Records: [{ s3: {} }] }), /Records\[0\]: no eventName/],
      [JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { object: { key: 'k' } } }] }), /no s3\.bucket\.name/],
      [JSON.stringify({ Records: [record('ObjectCreated:Put', '')] }), /no s3\.object\.key/],
      [JSON.stringify({ Records: [record('ObjectCreated:Put', 'bad%E0%A4%A.jpg')] }), /is not URL-encoded/],
      [JSON.stringify({ Records: [record('ObjectRemoved:Delete', 'k', { sequencer: 'not-hex' })] }), /sequencer "not-hex" is not hexadecimal/],
    ];
    for (const [body, message] of cases) {
      expect(() => parseS3EventMessage(body), body).toThrow(EventMessageError);
      expect(() => parseS3EventMessage(body), body).toThrow(message);
    }
  });
});

describe('compareSequencers', () => {
  it('orders hex strings of one length', () => {
    expect(compareSequencers('0055AED6DCD90281E5', '0055AED6DCD90281E6')).toBeLessThan(0);
    expect(compareSequencers('0055AED6DCD90281F0', '0055AED6DCD90281E6')).toBeGreaterThan(0);
    expect(compareSequencers('0055AED6DCD90281E5', '0055AED6DCD90281E5')).toBe(0);
  });

  it('pads the shorter one with zeros on the right before comparing', () => {
    // As numbers 0x0055AED6DCD90281E5 < 0x0055AED6DCD90281E500; padded on the right they are equal.
    expect(compareSequencers('0055AED6DCD90281E5', '0055AED6DCD90281E500')).toBe(0);
    expect(compareSequencers('0055AED6DCD90281E5', '0055AED6DCD90281E501')).toBeLessThan(0);
    // Longer is not newer: "...E6" is later than "...E5FF" once both have 20 digits.
    expect(compareSequencers('0055AED6DCD90281E6', '0055AED6DCD90281E5FF')).toBeGreaterThan(0);
    expect(compareSequencers('0055AED6DCD90281E5FF', '0055AED6DCD90281E6')).toBeLessThan(0);
  });

  it('ignores case', () => {
    expect(compareSequencers('00ab', '00AB')).toBe(0);
    expect(compareSequencers('00ab', '00AC')).toBeLessThan(0);
  });
});
