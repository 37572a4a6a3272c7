-- The operators' report keeps its values for forms without MeetMax configuration (issue 13 A8):
-- V4 made exchange_meetmax configuration-driven, so registrations of an unconfigured form showed
-- NULL roles and groups. Now a configured form's rows come from the configuration, and every
-- other form's rows from the rules of the view as published (V1), unchanged.
CREATE OR REPLACE VIEW conferences_events.exchange_meetmax AS
SELECT id, registration_id, submitted_at, first_name, last_name, company, title, email, phone,
       registration_type, attendee_role AS attendee_role_id, group_name, receive_request, locale,
       profile, headshot, industries, other_industries, created_at, updated_at, meetmax_id,
       meetmax_status, rollover, meetings
  FROM integration.meetmax_registration
 WHERE approval_status = 'Approved' AND registration_status = 'Active' AND account IS NOT NULL
UNION ALL
SELECT r.id,
       r.registration_id,
       r.submitted_at,
       initcap(r.first_name) AS first_name,
       initcap(r.last_name) AS last_name,
       CASE
           WHEN r.registration_type = 'State Member' THEN s.full_name
           WHEN r.registration_type IN ('Supplier', 'Supplier - Small Business',
                'NASPO & NASPO ValuePoint Staff',
                'Partner (Academic, Affiliate, Associate, Strategic)') THEN o.clean_organization
           ELSE r.organization
       END AS company,
       r.title,
       lower(r.email) AS email,
       r.phone,
       r.registration_type,
       CASE r.registration_type
           WHEN 'State Member' THEN 'NASPO2_STATE_REP'
           WHEN 'Supplier' THEN 'NASPO2_SUPPLIER_ATT'
           WHEN 'Supplier - Small Business' THEN 'NASPO2_SUPPLIER_ATT'
           WHEN 'NASPO & NASPO ValuePoint Staff' THEN 'NASPO2_NASPO_REP'
           ELSE 'NASPO2_OTHER_ATTENDEE'
       END AS attendee_role_id,
       CASE r.registration_type
           WHEN 'Partner (Academic, Affiliate, Associate, Strategic)' THEN '1'
           WHEN 'Life Member or Honorary Member' THEN '2'
           WHEN 'Speaker or VIP' THEN '3'
       END AS group_name,
       CASE WHEN r.one_one = 'Yes' THEN 'Y' ELSE 'N' END AS receive_request,
       replace(r.time_zone, ' Time', '') AS locale,
       r.profile,
       r.headshot,
       replace(regexp_replace(r.industries, '[\r\n]+', '|', 'g'), ',', '') AS industries,
       r.other_industries,
       r.created_at,
       r.updated_at,
       r.meetmax_id,
       r.meetmax_status,
       r.rollover,
       r.meetings
  FROM conferences_events.exchange_registration r
  LEFT JOIN conferences_events.events e ON e.form_id = r.form_id
  LEFT JOIN conferences_events.states s
         ON s.name::text = COALESCE(r.state_organization, r.address_state)
  LEFT JOIN conferences_events.regions g ON g.id = s.region_id
  LEFT JOIN conferences_events.exchange_organizations o
         ON o.original_organization = r.organization
 WHERE r.approval_status = 'Approved'
   AND r.registration_status = 'Active'
   AND NOT EXISTS (SELECT 1 FROM integration.meetmax_event x WHERE x.form_id = r.form_id);
