-- A clinician's attestation, signed by the clinic that verified them (the actor document's
-- `clinicianAttestation`, as JSON): for a local person, issued here; for a remote one, kept
-- only once it verified. Whether this instance trusts the issuing clinic (an allowed domain)
-- is kept beside it, and worked out again whenever the domain rules change.
ALTER TABLE actors ADD COLUMN clinician TEXT;
ALTER TABLE actors ADD COLUMN clinician_trusted BOOLEAN NOT NULL DEFAULT FALSE;
