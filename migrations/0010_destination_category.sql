-- GitLab 18's consolidated streaming API: every destination has a category and, for the cloud
-- categories, a JSON config and a secret. HTTP destinations keep their url, verification token
-- and headers in their own columns (the legacy API's view of the same store).
ALTER TABLE streaming_destinations ADD COLUMN category TEXT NOT NULL DEFAULT 'http' CHECK (category IN ('http', 'aws', 'gcp'));
-- aws: {"accessKeyXid","bucketName","awsRegion"}; gcp: {"googleProjectIdName","clientEmail","logIdName"}; NULL for http.
ALTER TABLE streaming_destinations ADD COLUMN config TEXT;
-- aws: the secret access key; gcp: the service account's private key (PEM); NULL for http.
ALTER TABLE streaming_destinations ADD COLUMN secret_token TEXT;
